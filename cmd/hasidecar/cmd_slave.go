package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"go.uber.org/zap"

	"github.com/hasidecar/hasidecar/applier"
	"github.com/hasidecar/hasidecar/sidecar"
)

// refusedError exits with EX_CONFIG (78), which the systemd unit lists in
// RestartPreventExitStatus: restarting cannot fix a refusal.
type refusedError struct{ err error }

func (e refusedError) Error() string { return e.err.Error() }
func (e refusedError) Unwrap() error { return e.err }
func (e refusedError) ExitCode() int { return 78 }

type slaveCmd struct {
	log      logFlags
	layout   layoutFlags
	dir      string
	stateDir string
	fsync    string
	ackAfter string
	cfg      sidecar.SlaveConfig
}

func (c *slaveCmd) flags(stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("slave", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c.log.register(fs)
	c.layout.register(fs)
	fs.StringVar(&c.dir, "dir", "", "segment directory to write (required; created if missing)")
	fs.StringVar(&c.stateDir, "state-dir", "", "sidecar state (checkpoint), outside --dir (default: DIR.hasidecar beside it)")
	fs.StringVar(&c.cfg.Master, "master", "", "master sidecar or broker HA address host:port (required)")
	fs.BoolVar(&c.cfg.Classic, "classic", false, "speak only the classic protocol (the master is a RocketMQ broker): no layout or divergence check")
	fs.StringVar(&c.fsync, "fsync", "100ms", "fsync policy: every (each frame), none, or an interval such as 100ms")
	fs.StringVar(&c.ackAfter, "ack-after", "write", "acknowledge bytes once written (write) or once fsynced (fsync)")
	fs.DurationVar(&c.cfg.Heartbeat, "heartbeat", 5*time.Second, "report the offset at least this often")
	fs.DurationVar(&c.cfg.Housekeeping, "housekeeping", 20*time.Second, "drop a connection silent this long")
	fs.DurationVar(&c.cfg.MaxBackoff, "max-backoff", 5*time.Second, "longest wait between reconnects")
	fs.BoolVar(&c.cfg.StopOnRefusal, "exit-on-refusal", false, "exit (status 78) when the master refuses this slave for good, instead of retrying every --max-backoff")
	return fs
}

func runSlave(ctx context.Context, args []string, _, stderr io.Writer) error {
	var c slaveCmd
	if err := parseFlags(c.flags(stderr), args); err != nil {
		return err
	}
	if c.dir == "" || c.cfg.Master == "" {
		return usageError{fmt.Errorf("slave: --dir and --master are required")}
	}
	if c.stateDir == "" {
		c.stateDir = filepath.Clean(c.dir) + ".hasidecar"
	}
	log, _, err := c.log.build(stderr)
	if err != nil {
		return err
	}
	defer log.Sync()
	mode, interval, err := applier.ParseSync(c.fsync)
	if err != nil {
		return usageError{fmt.Errorf("--fsync: %w", err)}
	}
	if c.cfg.AckAfter, err = sidecar.ParseAckAfter(c.ackAfter); err != nil {
		return usageError{err}
	}
	c.cfg.SyncEvery = max(interval/4, time.Millisecond)
	lay, closeLayout, err := c.layout.open(log)
	if err != nil {
		return err
	}
	defer closeLayout()
	app, err := applier.Open(log.Named("applier"), c.dir, c.stateDir, lay, applier.Options{Sync: mode, Interval: interval})
	if err != nil {
		return fmt.Errorf("open slave directory: %w", err)
	}
	log.Info("slave recovered", zap.String("dir", c.dir), zap.String("state_dir", c.stateDir),
		zap.Int64("end_offset", app.End()), zap.String("master", c.cfg.Master), zap.String("layout", lay.Info().String()))
	s := sidecar.NewSlave(log.Named("slave"), c.cfg, lay, app)
	runErr := s.Run(ctx)
	if errors.Is(runErr, sidecar.ErrRefused) {
		runErr = refusedError{runErr}
	}
	if err := app.Close(); err != nil {
		log.Error("close slave directory", zap.Error(err))
		if runErr == nil {
			runErr = err
		}
	}
	log.Info("slave stopped", zap.Int64("end_offset", app.End()))
	return runErr
}
