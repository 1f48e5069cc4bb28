package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"time"

	"go.uber.org/zap"

	"github.com/hasidecar/hasidecar/applier"
	"github.com/hasidecar/hasidecar/plugins"
	"github.com/hasidecar/hasidecar/sidecar"
	"github.com/hasidecar/hasidecar/sidecar/config"
	"github.com/hasidecar/hasidecar/sidecar/meta"
	"github.com/hasidecar/hasidecar/sidecar/metrics"
)

// slaveRun is a slave being assembled and run from a valid configuration.
type slaveRun struct {
	cfg    config.Slave
	log    *zap.Logger
	lvl    zap.AtomicLevel
	fs     *flag.FlagSet
	reload func() (*flag.FlagSet, error)

	app     *applier.Applier // the open applier; reopen replaces it
	closers []func() error   // layouts opened by reopen
}

// reopen opens the (empty) slave directory again with the master's segment
// size, for a slave whose --segment-size was not given: the checkpoint,
// which records the old size, is moved aside first (never deleted).
func (r *slaveRun) reopen(size int64) (plugins.Layout, *applier.Applier, error) {
	l := r.cfg.Layout
	l.SegmentSize = size
	lay, closeLayout, err := openLayout(r.log, l)
	if err != nil {
		return nil, nil, err
	}
	if _, err := applier.MoveAside(r.cfg.Dir, r.cfg.StateDir, "segment-size"); err != nil {
		closeLayout()
		return nil, nil, fmt.Errorf("move the old checkpoint aside: %w", err)
	}
	app, err := applier.Open(r.log.Named("applier"), r.cfg.Dir, r.cfg.StateDir, lay, applier.Options{Sync: r.cfg.Sync, Interval: r.cfg.SyncInterval})
	if err != nil {
		closeLayout()
		return nil, nil, fmt.Errorf("open slave directory with segment size %d: %w", size, err)
	}
	r.app, r.closers = app, append(r.closers, closeLayout)
	return lay, app, nil
}

func (r *slaveRun) run(ctx context.Context) error {
	log, c := r.log, r.cfg
	scfg, err := r.sidecarConfig()
	if err != nil {
		return err
	}
	lay, closeLayout, err := openLayoutFor(log, c.Layout, c.Dir)
	if err != nil {
		return err
	}
	defer closeLayout()
	if c.Reseed { // the last step before the directory is opened: everything above is valid
		if err := r.moveAside(); err != nil {
			return err
		}
	}
	app, err := applier.Open(log.Named("applier"), c.Dir, c.StateDir, lay, applier.Options{Sync: c.Sync, Interval: c.SyncInterval})
	if err != nil {
		return fmt.Errorf("open slave directory: %w", err)
	}
	log.Info("slave recovered", zap.String("dir", c.Dir), zap.String("state_dir", c.StateDir),
		zap.Int64("end_offset", app.End()), zap.String("master", c.Master), zap.String("layout", lay.Info().String()))
	r.app = app
	runErr := r.serve(ctx, scfg, lay, app)
	for _, cl := range r.closers { // layouts opened by reopen
		cl()
	}
	if err := r.app.Close(); err != nil {
		log.Error("close slave directory", zap.Error(err))
		runErr = errors.Join(runErr, err)
	}
	log.Info("slave stopped", zap.Int64("end_offset", r.app.End()))
	return runErr
}

// sidecarConfig maps the configuration onto the slave's (TLS files read).
func (r *slaveRun) sidecarConfig() (sidecar.SlaveConfig, error) {
	c := r.cfg
	sc := sidecar.SlaveConfig{Master: c.Master, Name: c.Name, Classic: c.Classic, AckAfter: c.AckAfter, Heartbeat: c.Heartbeat,
		Housekeeping: c.Housekeeping, MaxBackoff: c.MaxBackoff, StopOnRefusal: c.StopOnRefusal,
		SegmentSizeFromMaster: !c.Layout.SegmentSizeSet, Reopen: r.reopen}
	if c.Sync == applier.SyncInterval {
		// The sync loop only matters between frames, for interval syncs.
		sc.SyncEvery = max(c.SyncInterval/4, time.Millisecond)
	}
	name := c.TLSServerName
	if name == "" {
		name, _, _ = net.SplitHostPort(c.Master)
	}
	var err error
	if sc.TLS, err = clientTLS(c.Service, name); err != nil {
		return sc, fmt.Errorf("slave TLS: %w", err)
	}
	return sc, nil
}

// moveAside keeps the old directory's files for an operator, never deletes them.
func (r *slaveRun) moveAside() error {
	path, err := applier.MoveAside(r.cfg.Dir, r.cfg.StateDir, "reseed")
	if err != nil {
		return fmt.Errorf("reseed: %w", err)
	}
	r.log.Warn("reseed: moved the old segments and checkpoint aside; copying afresh from the master", zap.String("aside", path))
	return nil
}

func (r *slaveRun) serve(ctx context.Context, scfg sidecar.SlaveConfig, lay plugins.Layout, app *applier.Applier) error {
	log := r.log
	s := sidecar.NewSlave(log.Named("slave"), scfg, lay, app)
	fns := []func(context.Context) error{s.Run}
	mrun, err := metricsRun(r.cfg.Service, log.Named("metrics"), s.Healthy, s.Ready, metrics.NewSlaveCollector(s.Stats), metrics.NewBuildInfo(buildInfo()))
	if err != nil {
		return err
	}
	if mrun != nil {
		fns = append(fns, mrun)
	}
	rl := &reloader{log: log.Named("reload"), fs: r.fs, names: config.SlaveReloadable, rebuild: r.reload,
		apply: func(name, v string) error { return r.lvl.UnmarshalText([]byte(v)) }}
	if mc := r.metaClient(s); mc != nil {
		fns = append(fns, mc.Run)
		rl.after = func(ctx context.Context) { syncMetaNow(ctx, log, mc) }
	}
	fns = append(fns, notifyLifecycle(log.Named("systemd"), s.Healthy), rl.run)
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

func (r *slaveRun) metaClient(s *sidecar.Slave) *meta.Client {
	m := r.cfg.Meta
	if m.Dir == "" {
		return nil
	}
	return meta.NewClient(r.log.Named("meta"), meta.ClientOptions{Dir: m.Dir, Include: m.Include, MaxFileSize: m.MaxFileSize,
		Interval: r.cfg.MetaInterval, Delete: r.cfg.MetaDelete, Dial: s.Dial})
}
