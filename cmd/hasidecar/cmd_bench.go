package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/hasidecar/hasidecar/cmd/hasidecar/internal/bench"
	"github.com/hasidecar/hasidecar/plugins/bytesize"
)

// runBench maps `hasidecar bench`'s flags onto bench.Config.
func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c bench.Config
	var total, segment, only string
	fs := newFlagSet("bench")
	fs.StringVar(&only, "only", "", "comma-separated measurements to run ("+strings.Join(bench.Names(), ", ")+"; default all)")
	fs.IntVar(&c.Runs, "runs", 3, "runs of each measurement; every figure is the median (1 to 100)")
	fs.BoolVar(&c.JSON, "json", false, "one JSON object: every figure with its baseline, ratio, target and whether it is met")
	fs.BoolVar(&c.Quick, "quick", false, "small sizes, short windows and one run unless --runs is given (tests; figures not comparable)")
	fs.StringVar(&total, "total", "512MiB", "catchup: bytes of segments to replicate")
	fs.DurationVar(&c.Duration, "duration", 3*time.Second, "live and sync: how long each load runs")
	fs.StringVar(&c.AckAfter, "ack-after", "write", "live and sync: the slave's --ack-after")
	fs.StringVar(&segment, "segment-size", "64MiB", "catchup, live and sync: segment size of the writer, master and slave")
	fs.IntVar(&c.Body, "body-size", 1024, "message body bytes")
	fs.StringVar(&c.Fsync, "fsync", "none", "catchup, live and sync: the slave's --fsync policy")
	fs.BoolVar(&c.Keep, "keep", false, "keep the bench directory")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if err := benchSizes(&c, total, segment, set); err != nil {
		return usageError{err}
	}
	if only != "" {
		for _, n := range strings.Split(only, ",") {
			c.Only = append(c.Only, strings.TrimSpace(n))
		}
	}
	var err error
	if c.Exe, err = os.Executable(); err != nil {
		return fmt.Errorf("find own binary: %w", err)
	}
	err = bench.Run(ctx, stdout, c)
	if errors.Is(err, bench.ErrOnly) {
		return usageError{fmt.Errorf("--only: %w", err)}
	}
	return err
}

// benchSizes parses and checks the sizes; --quick shrinks those not given.
func benchSizes(c *bench.Config, total, segment string, set map[string]bool) error {
	var err error
	if c.Total, err = bytesize.Parse(total); err != nil || c.Total <= 0 {
		return fmt.Errorf("--total %q: want a positive size (%v)", total, err)
	}
	if c.SegmentSize, err = bytesize.Parse(segment); err != nil || c.SegmentSize <= 0 {
		return fmt.Errorf("--segment-size %q: want a positive size (%v)", segment, err)
	}
	if c.Runs < 1 || c.Runs > 100 {
		return fmt.Errorf("--runs %d: want 1 to 100", c.Runs)
	}
	if c.Body <= 0 || c.Duration <= 0 {
		return errors.New("--body-size and --duration must be positive")
	}
	if c.Quick {
		quick := map[string]func(){
			"total":        func() { c.Total = 16 << 20 },
			"segment-size": func() { c.SegmentSize = 4 << 20 },
			"runs":         func() { c.Runs = 1 },
			"duration":     func() { c.Duration = 300 * time.Millisecond },
		}
		for name, shrink := range quick {
			if !set[name] {
				shrink()
			}
		}
	}
	return nil
}
