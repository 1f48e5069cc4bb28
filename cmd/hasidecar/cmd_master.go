package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"time"

	"go.uber.org/zap"

	"github.com/hasidecar/hasidecar/plugins"
	"github.com/hasidecar/hasidecar/sidecar"
	"github.com/hasidecar/hasidecar/sidecar/ack"
	"github.com/hasidecar/hasidecar/tailer"
)

type masterCmd struct {
	log     logFlags
	layout  layoutFlags
	dir     string
	listen  string
	batch   string
	initial string
	cfg     sidecar.MasterConfig
	tail    tailer.Options

	ackSocket     string
	ackMode       string
	ackPolicy     string
	fallbehindMax string
}

func (c *masterCmd) flags(stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("master", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c.log.register(fs)
	c.layout.register(fs)
	fs.StringVar(&c.dir, "dir", "", "segment directory to replicate (required; may not exist yet)")
	fs.StringVar(&c.listen, "listen", "0.0.0.0:10912", "HA listen address (RocketMQ's default is the broker port + 1)")
	fs.StringVar(&c.batch, "batch", "32KiB", "largest frame body (RocketMQ's haTransferBatchSize; at most 4MiB-12)")
	fs.StringVar(&c.initial, "initial", "full", "where a slave reporting 0 starts: full (oldest segment) or last-segment (RocketMQ)")
	fs.DurationVar(&c.cfg.Heartbeat, "heartbeat", 5*time.Second, "send a heartbeat frame after this long without data")
	fs.DurationVar(&c.cfg.Housekeeping, "housekeeping", 20*time.Second, "close a slave connection silent this long")
	fs.DurationVar(&c.cfg.ReportGrace, "report-grace", 3*time.Second, "wait this long for the directory to reach a slave's reported offset")
	fs.DurationVar(&c.cfg.GapLog, "gap-log", time.Minute, "log each connected slave's gap this often")
	fs.IntVar(&c.cfg.MaxSlaves, "max-slaves", 16, "refuse slave connections beyond this many (0: no limit)")
	fs.DurationVar(&c.tail.PollMin, "poll-min", time.Millisecond, "fastest poll of the live segment's tail")
	fs.DurationVar(&c.tail.PollMax, "poll-max", 50*time.Millisecond, "slowest poll of the live segment's tail when idle")
	fs.DurationVar(&c.tail.Settle, "settle", 20*time.Millisecond, "ship the last record once unchanged this long (without a writer hint)")
	fs.DurationVar(&c.tail.Rescan, "rescan", time.Second, "full directory listing interval under fsnotify")
	fs.StringVar(&c.ackSocket, "ack-socket", "", "Unix socket path for synchronous-commit waits (off when empty)")
	fs.StringVar(&c.ackMode, "ack-socket-mode", "0660", "file mode of the ack socket")
	fs.StringVar(&c.ackPolicy, "ack-policy", "any", "which slaves must acknowledge: any, all or quorum=N")
	fs.StringVar(&c.fallbehindMax, "fallbehind-max", "256MiB", "answer NOT_AVAILABLE when the slaves are further behind than this")
	return fs
}

func runMaster(ctx context.Context, args []string, _, stderr io.Writer) error {
	var c masterCmd
	if err := parseFlags(c.flags(stderr), args); err != nil {
		return err
	}
	if c.dir == "" {
		return usageError{fmt.Errorf("master: --dir is required")}
	}
	log, _, err := c.log.build(stderr)
	if err != nil {
		return err
	}
	defer log.Sync()
	if err := c.parse(); err != nil {
		return err
	}
	lay, closeLayout, err := c.layout.open(log)
	if err != nil {
		return err
	}
	defer closeLayout()
	return c.serve(ctx, log, lay)
}

func (c *masterCmd) parse() error {
	batch, err := plugins.ParseSize(c.batch)
	if err != nil {
		return usageError{fmt.Errorf("--batch: %w", err)}
	}
	c.cfg.Batch = int(min(batch, 1<<30))
	if c.cfg.Initial, err = sidecar.ParseInitial(c.initial); err != nil {
		return usageError{err}
	}
	return nil
}

func (c *masterCmd) serve(ctx context.Context, log *zap.Logger, lay plugins.Layout) error {
	policy, err := ack.ParsePolicy(c.ackPolicy)
	if err != nil {
		return usageError{fmt.Errorf("--ack-policy: %w", err)}
	}
	fallbehind, err := plugins.ParseSize(c.fallbehindMax)
	if err != nil {
		return usageError{fmt.Errorf("--fallbehind-max: %w", err)}
	}
	ln, err := net.Listen("tcp", c.listen)
	if err != nil {
		return fmt.Errorf("listen for slaves: %w", err)
	}
	tr := ack.NewTracker(log.Named("ack"), policy, fallbehind)
	tl := tailer.New(log.Named("tailer"), c.dir, lay, c.tail)
	m := sidecar.NewMaster(log.Named("master"), c.cfg, lay, tl, tr)
	log.Info("master serving", zap.String("dir", c.dir), zap.String("listen", ln.Addr().String()),
		zap.String("layout", lay.Info().String()), zap.String("ack_policy", policy.String()))
	fns := []func(context.Context) error{tl.Run, func(ctx context.Context) error { return m.Serve(ctx, ln) }}
	if c.ackSocket != "" {
		mode, err := strconv.ParseUint(c.ackMode, 8, 32)
		if err != nil {
			return usageError{fmt.Errorf("--ack-socket-mode %q: want an octal mode", c.ackMode)}
		}
		srv := ack.NewServer(log.Named("ack_socket"), ack.ServerOptions{Path: c.ackSocket, Mode: os.FileMode(mode)}, tr, tl)
		fns = append(fns, srv.Run)
	}
	err = runAll(ctx, fns...)
	log.Info("master stopped", zap.Error(err))
	return err
}
