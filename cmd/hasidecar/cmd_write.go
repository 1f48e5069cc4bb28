package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/hasidecar/hasidecar/cmd/hasidecar/internal/loadgen"
	"github.com/hasidecar/hasidecar/plugins/bytesize"
)

// writeCmd is `hasidecar write`'s flags: loadgen.Config and the logger.
type writeCmd struct {
	log     logFlags
	segment string
	cfg     loadgen.Config
}

func (c *writeCmd) flags() *flag.FlagSet {
	fs := newFlagSet("write")
	c.log.register(fs)
	fs.StringVar(&c.cfg.Dir, "dir", "", "segment directory to append to (created if missing; continues an existing one)")
	fs.StringVar(&c.cfg.Layout, "layout", "rocketmq", "rocketmq (v1 records through mmap, like a broker), raw (write(2) appends) or crc32c (the example plugin's format)")
	fs.StringVar(&c.segment, "segment-size", defaultSegmentSize, "segment size (rocketmq, crc32c: taken from the directory's segment files when not given)")
	fs.IntVar(&c.cfg.BodySize, "body-size", 1024, "message body bytes")
	fs.Float64Var(&c.cfg.Rate, "rate", 0, "messages per second (0: as fast as possible)")
	fs.DurationVar(&c.cfg.Duration, "duration", 0, "stop after this long (0: until interrupted or --count)")
	fs.Int64Var(&c.cfg.Count, "count", 0, "stop after this many messages (0: no limit)")
	fs.IntVar(&c.cfg.Retain, "retain", 0, "rocketmq: keep at most this many segments, deleting the oldest (0: keep all)")
	fs.StringVar(&c.cfg.AckSocket, "ack-socket", "", "make each message a synchronous commit: wait on the master's ack socket")
	fs.IntVar(&c.cfg.Writers, "writers", 1, "with --ack-socket: concurrent writers, each appending then waiting")
	fs.DurationVar(&c.cfg.WaitTimeout, "wait-timeout", 5*time.Second, "with --ack-socket: the wait's timeout")
	return fs
}

// runWrite maps `hasidecar write`'s flags onto loadgen.Config.
func runWrite(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c writeCmd
	fs := c.flags()
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	c.cfg.SizeGiven = setOnCommandLine(fs, "segment-size")
	if c.cfg.Dir == "" || c.cfg.BodySize <= 0 || c.cfg.Writers <= 0 {
		return usageError{fmt.Errorf("write: --dir is required; --body-size and --writers must be positive")}
	}
	var err error
	if c.cfg.SegmentSize, err = bytesize.Parse(c.segment); err != nil {
		return usageError{fmt.Errorf("--segment-size: %w", err)}
	}
	log, _, err := c.log.build(stderr)
	if err != nil {
		return err
	}
	defer log.Sync()
	err = loadgen.Run(ctx, log, c.cfg, stdout)
	if errors.Is(err, loadgen.ErrUsage) {
		return usageError{err}
	}
	return exitForRole(err)
}
