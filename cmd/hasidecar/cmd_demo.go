package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/hasidecar/hasidecar/cmd/hasidecar/internal/demo"
	"github.com/hasidecar/hasidecar/plugins/bytesize"
)

// runDemo maps `hasidecar demo`'s flags onto demo.Config.
func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c demo.Config
	var segment string
	fs := newFlagSet("demo")
	fs.DurationVar(&c.Duration, "duration", 15*time.Second, "how long the writer appends")
	fs.Float64Var(&c.Rate, "rate", 20000, "messages per second (1 KiB bodies)")
	fs.StringVar(&segment, "segment-size", defaultSegmentSize, "segment size of the writer, master and slave")
	fs.BoolVar(&c.Keep, "keep", false, "keep the demo directory")
	fs.StringVar(&c.Dir, "dir", "", "work directory (default: a new temporary one)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	var err error
	if c.SegmentSize, err = bytesize.Parse(segment); err != nil {
		return usageError{fmt.Errorf("--segment-size: %w", err)}
	}
	if c.Exe, err = os.Executable(); err != nil {
		return fmt.Errorf("find own binary: %w", err)
	}
	return demo.Run(ctx, stdout, c)
}
