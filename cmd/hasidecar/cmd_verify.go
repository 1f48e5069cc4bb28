package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"

	"go.uber.org/zap"

	"github.com/hasidecar/hasidecar/cmd/hasidecar/internal/report"
	"github.com/hasidecar/hasidecar/plugins"
	"github.com/hasidecar/hasidecar/plugins/bytesize"
	"github.com/hasidecar/hasidecar/sidecar/verify"
)

// verifyDiffers is the exit status when the directories differ.
type verifyDiffers struct{ n int }

func (e verifyDiffers) Error() string { return fmt.Sprintf("directories differ (%d differences)", e.n) }
func (e verifyDiffers) ExitCode() int { return 2 }

// verifyCmd is `hasidecar verify`: exit 0 identical, 2 differences, 1 when
// the comparison cannot be made, 64 for a command-line mistake.
type verifyCmd struct {
	lf       layoutFlags
	exact    bool
	json     bool
	explicit bool // --segment-size was given
	a, b     string
	on       onlineFlags
	rate     int64 // --rate, parsed
}

func runVerify(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c := &verifyCmd{}
	if err := c.parse(args, stderr); err != nil {
		return err
	}
	if c.on.on {
		return c.runOnline(ctx, stdout, stderr)
	}
	rep, sizeFrom, err := c.compare()
	if err != nil {
		err = fmt.Errorf("verify: %w", err)
		if c.json {
			writeVerifyJSON(stdout, verifyDoc{Verdict: "error", Error: err.Error(), Master: c.a, Slave: c.b})
		}
		return err
	}
	if c.json {
		writeVerifyJSON(stdout, verifyDoc{Verdict: verdict(rep), Master: c.a, Slave: c.b, SizeFrom: sizeFrom, Report: rep})
	} else {
		fmt.Fprintln(stdout, sizeFrom)
		report.Verify(stdout, c.a, c.b, rep)
	}
	if !rep.Equal() {
		return verifyDiffers{rep.Count()}
	}
	return nil
}

func (c *verifyCmd) parse(args []string, stderr io.Writer) error {
	fs := newFlagSet("verify")
	c.lf.register(fs)
	fs.BoolVar(&c.exact, "exact", false, "require identical directories (all names, whole files), not only bytes up to the valid end")
	fs.BoolVar(&c.json, "json", false, "print the report as one JSON object")
	c.on.register(fs)
	if err := fs.Parse(args); err != nil {
		return usageFor(fs, err)
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var err error
	if c.rate, err = c.on.check(given, fs.NArg()); err != nil {
		return flagError{cmd: "verify", err: err}
	}
	if c.on.on {
		c.explicit = given["segment-size"]
		return nil
	}
	if fs.NArg() != 2 {
		return flagError{cmd: "verify", err: fmt.Errorf("want two directories, got %d arguments", fs.NArg())}
	}
	fs.Visit(func(f *flag.Flag) { c.explicit = c.explicit || f.Name == "segment-size" })
	c.a, c.b = fs.Arg(0), fs.Arg(1)
	return nil
}

// compare opens the layout at the right segment size and compares; sizeFrom
// says where the segment size came from.
func (c *verifyCmd) compare() (*verify.Report, string, error) {
	lay, closeLayout, sizeFrom, err := c.openLayout()
	if err != nil {
		return nil, "", err
	}
	defer closeLayout()
	rep, err := verify.Dirs(lay, c.a, c.b, verify.Options{Exact: c.exact})
	var se *verify.SizeError
	if errors.As(err, &se) {
		err = fmt.Errorf("%s: %w", sizeFrom, err)
	}
	return rep, sizeFrom, err
}

// openLayout opens the layout the flags name. For a preallocated layout
// without an explicit --segment-size, the size of the segment files is
// used, since every file of such a layout is created at that size.
func (c *verifyCmd) openLayout() (plugins.Layout, func() error, string, error) {
	lay, closeLayout, err := c.lf.open(zap.NewNop())
	if err != nil {
		return nil, nil, "", err
	}
	size := lay.Info().SegmentSize
	if c.explicit || !lay.Info().Preallocated {
		how := "given with --segment-size"
		if !c.explicit {
			how = "the --segment-size default"
		}
		return lay, closeLayout, fmt.Sprintf("segment size %s (%d bytes), %s", bytesize.Format(size), size, how), nil
	}
	found, err := plugins.DetectSegmentSize(lay, c.a, c.b)
	if err != nil {
		closeLayout()
		var se *plugins.SegmentSizeError
		if errors.As(err, &se) {
			err = fmt.Errorf("segment files disagree on the segment size (give --segment-size): %w", err)
		}
		return nil, nil, "", err
	}
	sizeFrom := fmt.Sprintf("segment size %s (%d bytes) detected from the segment files (--segment-size not given)", bytesize.Format(found), found)
	if found == size {
		return lay, closeLayout, sizeFrom, nil
	}
	closeLayout()
	c.lf.segmentSize = strconv.FormatInt(found, 10)
	if lay, closeLayout, err = c.lf.open(zap.NewNop()); err != nil {
		var ue usageError // the size came from the files, not from the command line
		if errors.As(err, &ue) {
			err = ue.err
		}
		return nil, nil, "", fmt.Errorf("%s: %w", sizeFrom, err)
	}
	return lay, closeLayout, sizeFrom, nil
}

// verifyDoc is `verify --json`'s output: one object on one line.
type verifyDoc struct {
	Verdict  string `json:"verdict"` // identical, different or error
	Master   string `json:"master_dir"`
	Slave    string `json:"slave_dir"`
	SizeFrom string `json:"segment_size_from,omitempty"`
	Error    string `json:"error,omitempty"`
	*verify.Report
}

func verdict(rep *verify.Report) string {
	if rep.Equal() {
		return "identical"
	}
	return "different"
}

func writeVerifyJSON(w io.Writer, d any) {
	b, err := json.Marshal(d)
	if err != nil { // a report always marshals; say so rather than print nothing
		b = []byte(fmt.Sprintf(`{"verdict":"error","error":%q}`, err.Error()))
	}
	fmt.Fprintf(w, "%s\n", b)
}
