package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/hasidecar/hasidecar/cmd/hasidecar/internal/bench"
	"github.com/hasidecar/hasidecar/plugins/bytesize"
)

// runBench maps `hasidecar bench`'s flags onto bench.Config.
func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c bench.Config
	var total, segment, writers string
	fs := newFlagSet("bench")
	fs.StringVar(&c.Mode, "mode", "catchup", "catchup (throughput of an empty slave) or sync (synchronous-commit latency)")
	fs.StringVar(&total, "total", "1GiB", "catchup: bytes of segments to replicate")
	fs.StringVar(&writers, "writers", "1,16,64", "sync: comma-separated concurrent writer counts")
	fs.DurationVar(&c.Duration, "duration", 5*time.Second, "sync: how long each writer count runs")
	fs.StringVar(&c.AckAfter, "ack-after", "write", "the slave's --ack-after during the run")
	fs.StringVar(&segment, "segment-size", defaultSegmentSize, "segment size of the writer, master and slave")
	fs.IntVar(&c.Body, "body-size", 1024, "message body bytes")
	fs.StringVar(&c.Fsync, "fsync", "none", "the slave's --fsync policy during the run")
	fs.BoolVar(&c.Keep, "keep", false, "keep the bench directory")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	var err error
	if c.Total, err = bytesize.Parse(total); err != nil {
		return usageError{fmt.Errorf("--total: %w", err)}
	}
	if c.SegmentSize, err = bytesize.Parse(segment); err != nil {
		return usageError{fmt.Errorf("--segment-size: %w", err)}
	}
	if c.Mode == "sync" {
		if c.Writers, err = parseInts(writers); err != nil {
			return usageError{fmt.Errorf("--writers: %w", err)}
		}
	}
	if c.Exe, err = os.Executable(); err != nil {
		return fmt.Errorf("find own binary: %w", err)
	}
	err = bench.Run(ctx, stdout, c)
	if errors.Is(err, bench.ErrMode) {
		return usageError{fmt.Errorf("bench: --mode %q: want catchup or sync", c.Mode)}
	}
	return err
}

func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("%q is not a positive count", f)
		}
		out = append(out, n)
	}
	return out, nil
}
