package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"time"

	"go.uber.org/zap"

	"github.com/hasidecar/hasidecar/applier"
	"github.com/hasidecar/hasidecar/plugins"
	"github.com/hasidecar/hasidecar/sidecar"
	"github.com/hasidecar/hasidecar/sidecar/meta"
	"github.com/hasidecar/hasidecar/sidecar/metrics"
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
	svc      serviceFlags
	dir      string
	stateDir string
	fsync    string
	ackAfter string
	tlsName  string
	reseed   bool
	cfg      sidecar.SlaveConfig

	meta         metaFlags
	metaInterval time.Duration
	metaDelete   bool
}

var slaveReloadable = []string{"log-level"}

func (c *slaveCmd) flags(stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("slave", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c.log.register(fs)
	c.layout.register(fs)
	c.svc.register(fs)
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
	fs.BoolVar(&c.reseed, "reseed", false, "move the directory's segments and checkpoint aside (into --state-dir) and copy afresh from the master")
	fs.StringVar(&c.tlsName, "tls-server-name", "", "name to verify in the master's certificate (default: the host of --master)")
	c.meta.register(fs, "where to mirror the master's metadata files (off when empty)")
	fs.DurationVar(&c.metaInterval, "meta-interval", time.Minute, "how often to mirror the metadata (the first run comes soon after start)")
	fs.BoolVar(&c.metaDelete, "meta-delete", false, "remove local metadata files that were removed on the master")
	return fs
}

func runSlave(ctx context.Context, args []string, _, stderr io.Writer) error {
	var c slaveCmd
	fs := c.flags(stderr)
	if err := parseService(fs, args); err != nil {
		return err
	}
	if c.dir == "" || c.cfg.Master == "" {
		return usageError{fmt.Errorf("slave: --dir and --master are required")}
	}
	if c.stateDir == "" {
		c.stateDir = filepath.Clean(c.dir) + ".hasidecar"
	}
	log, lvl, err := c.log.build(stderr)
	if err != nil {
		return err
	}
	defer log.Sync()
	opts, err := c.parse()
	if err != nil {
		return err
	}
	lay, closeLayout, err := c.layout.open(log)
	if err != nil {
		return err
	}
	defer closeLayout()
	if c.reseed {
		if err := c.moveAside(log); err != nil {
			return err
		}
	}
	app, err := applier.Open(log.Named("applier"), c.dir, c.stateDir, lay, opts)
	if err != nil {
		return fmt.Errorf("open slave directory: %w", err)
	}
	log.Info("slave recovered", zap.String("dir", c.dir), zap.String("state_dir", c.stateDir),
		zap.Int64("end_offset", app.End()), zap.String("master", c.cfg.Master), zap.String("layout", lay.Info().String()))
	runErr := c.serve(ctx, log, lvl, fs, lay, app)
	if err := app.Close(); err != nil {
		log.Error("close slave directory", zap.Error(err))
		runErr = errors.Join(runErr, err)
	}
	log.Info("slave stopped", zap.Int64("end_offset", app.End()))
	return runErr
}

func (c *slaveCmd) parse() (applier.Options, error) {
	mode, interval, err := applier.ParseSync(c.fsync)
	if err != nil {
		return applier.Options{}, usageError{fmt.Errorf("--fsync: %w", err)}
	}
	if c.cfg.AckAfter, err = sidecar.ParseAckAfter(c.ackAfter); err != nil {
		return applier.Options{}, usageError{err}
	}
	if mode == applier.SyncInterval {
		// The sync loop only matters between frames, for interval syncs.
		c.cfg.SyncEvery = max(interval/4, time.Millisecond)
	}
	name := c.tlsName
	if name == "" {
		name, _, _ = net.SplitHostPort(c.cfg.Master)
	}
	if c.cfg.TLS, err = c.svc.clientTLS(name); err != nil {
		return applier.Options{}, fmt.Errorf("slave TLS: %w", err)
	}
	return applier.Options{Sync: mode, Interval: interval}, nil
}

// moveAside keeps the old directory's files for an operator, never deletes them.
func (c *slaveCmd) moveAside(log *zap.Logger) error {
	path, err := applier.MoveAside(c.dir, c.stateDir, "reseed")
	if err != nil {
		return fmt.Errorf("reseed: %w", err)
	}
	log.Warn("reseed: moved the old segments and checkpoint aside; copying afresh from the master", zap.String("aside", path))
	return nil
}

func (c *slaveCmd) serve(ctx context.Context, log *zap.Logger, lvl zap.AtomicLevel, fs *flag.FlagSet, lay plugins.Layout, app *applier.Applier) error {
	s := sidecar.NewSlave(log.Named("slave"), c.cfg, lay, app)
	healthy := func() error {
		st := s.Stats()
		switch st.State {
		case sidecar.SlaveRefused, sidecar.SlaveNeedsReseed, sidecar.SlaveWriteFailed:
			return fmt.Errorf("%s: %s", st.State, st.LastError)
		}
		return nil
	}
	fns := []func(context.Context) error{s.Run}
	mrun, err := c.svc.metricsRun(log.Named("metrics"), healthy, metrics.NewSlaveCollector(s.Stats))
	if err != nil {
		return err
	}
	if mrun != nil {
		fns = append(fns, mrun)
	}
	mc, err := c.metaClient(log, s)
	if err != nil {
		return err
	}
	rl := &reloader{log: log.Named("reload"), fs: fs, names: slaveReloadable, apply: func(name, v string) error {
		return lvl.UnmarshalText([]byte(v))
	}}
	if mc != nil {
		fns = append(fns, mc.Run)
		rl.after = func(ctx context.Context) { syncMetaNow(ctx, log, mc) }
	}
	fns = append(fns, notifyLifecycle(log.Named("systemd"), healthy), rl.run)
	err = runAll(ctx, fns...)
	if errors.Is(err, sidecar.ErrRefused) {
		return refusedError{err}
	}
	return err
}

// syncMetaNow mirrors the metadata at once: SIGHUP on a slave asks for it.
func syncMetaNow(ctx context.Context, log *zap.Logger, mc *meta.Client) {
	res, err := mc.SyncNow(ctx)
	if err != nil {
		log.Error("metadata sync on SIGHUP", zap.Error(err))
		return
	}
	log.Info("metadata synced on SIGHUP", zap.Int("updated", len(res.Updated)), zap.Int("unchanged", len(res.Unchanged)),
		zap.Int("deleted", len(res.Deleted)), zap.Int("failed", len(res.Failed)))
}

func (c *slaveCmd) metaClient(log *zap.Logger, s *sidecar.Slave) (*meta.Client, error) {
	if c.meta.dir == "" {
		return nil, nil
	}
	include, size, err := c.meta.parse()
	if err != nil {
		return nil, err
	}
	return meta.NewClient(log.Named("meta"), meta.ClientOptions{Dir: c.meta.dir, Include: include, MaxFileSize: size,
		Interval: c.metaInterval, Delete: c.metaDelete, Dial: s.Dial}), nil
}
