package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"go.uber.org/zap"

	"github.com/hasidecar/hasidecar/sidecar/verify"
)

// verifyDiffers is the exit status when the directories differ.
type verifyDiffers struct{ n int }

func (e verifyDiffers) Error() string { return fmt.Sprintf("directories differ (%d differences)", e.n) }
func (e verifyDiffers) ExitCode() int { return 2 }

func runVerify(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var lf layoutFlags
	lf.register(fs)
	exact := fs.Bool("exact", false, "require identical directories (all names, whole files), not only up to the replicated end")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: hasidecar verify [flags] MASTER_DIR SLAVE_DIR")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return usageFor(err)
	}
	if fs.NArg() != 2 {
		fs.Usage()
		return usageError{fmt.Errorf("verify: want two directories, got %d arguments", fs.NArg())}
	}
	lay, closeLayout, err := lf.open(zap.NewNop())
	if err != nil {
		return err
	}
	defer closeLayout()
	a, b := fs.Arg(0), fs.Arg(1)
	rep, err := verify.Dirs(lay, a, b, verify.Options{Exact: *exact})
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	printReport(stdout, a, b, rep)
	if !rep.Equal() {
		return verifyDiffers{len(rep.Diffs)}
	}
	return nil
}

func printReport(w io.Writer, a, b string, rep *verify.Report) {
	fmt.Fprintf(w, "compared %d segments, %d bytes; valid end %d in %s, %d in %s\n",
		rep.Segments, rep.Bytes, rep.EndA, a, rep.EndB, b)
	for _, n := range rep.Notes {
		fmt.Fprintln(w, "note:", n)
	}
	for _, d := range rep.Diffs {
		fmt.Fprintln(w, "DIFF:", d)
	}
	if rep.Equal() {
		fmt.Fprintln(w, "OK: no differences")
	}
}
