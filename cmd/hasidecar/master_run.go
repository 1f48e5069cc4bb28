package main

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"net"
	"time"

	"go.uber.org/zap"

	"github.com/hasidecar/hasidecar/plugins"
	"github.com/hasidecar/hasidecar/sidecar"
	"github.com/hasidecar/hasidecar/sidecar/ack"
	"github.com/hasidecar/hasidecar/sidecar/config"
	"github.com/hasidecar/hasidecar/sidecar/meta"
	"github.com/hasidecar/hasidecar/sidecar/metrics"
	"github.com/hasidecar/hasidecar/sidecar/tlsconf"
	"github.com/hasidecar/hasidecar/tailer"
)

// masterRun is a master being assembled and run from a valid configuration.
type masterRun struct {
	cfg    config.Master
	log    *zap.Logger
	lvl    zap.AtomicLevel
	fs     *flag.FlagSet
	reload func() (*flag.FlagSet, error)
	lay    plugins.Layout

	tracker *ack.Tracker
	tail    *tailer.Tailer
	m       *sidecar.Master
	sync    *metrics.SyncMetrics
}

// sidecarConfig maps the configuration onto the master's.
func (r *masterRun) sidecarConfig() sidecar.MasterConfig {
	c := r.cfg
	return sidecar.MasterConfig{Batch: int(c.Batch), Heartbeat: c.Heartbeat, Housekeeping: c.Housekeeping, Initial: c.Initial,
		ReportGrace: c.ReportGrace, GapLog: c.GapLog, MaxSlaves: c.MaxSlaves, MaxMetaConns: c.MaxMetaConns, Meta: r.metaServer()}
}

func (r *masterRun) serve(ctx context.Context) error {
	log, c := r.log, r.cfg
	r.tracker, r.sync = ack.NewTracker(log.Named("ack"), c.AckPolicy, c.FallbehindMax), metrics.NewSyncMetrics()
	r.tail = tailer.New(log.Named("tailer"), c.Dir, r.lay, c.Tail)
	r.m = sidecar.NewMaster(log.Named("master"), r.sidecarConfig(), r.lay, r.tail, r.tracker)
	ln, err := r.listener()
	if err != nil {
		return err
	}
	fns, err := r.services(ln)
	if err != nil {
		ln.Close()
		return err
	}
	log.Info("master serving", zap.String("dir", c.Dir), zap.String("listen", ln.Addr().String()),
		zap.String("layout", r.lay.Info().String()), zap.String("ack_policy", c.AckPolicy.String()))
	err = runAll(ctx, fns...)
	log.Info("master stopped", zap.Error(err))
	return err
}

// services lists the goroutines of a running master.
func (r *masterRun) services(ln net.Listener) ([]func(context.Context) error, error) {
	log, c := r.log, r.cfg
	fns := []func(context.Context) error{r.tail.Run, func(ctx context.Context) error { return r.m.Serve(ctx, ln) }}
	if c.AckSocket != "" {
		srv := ack.NewServer(log.Named("ack_socket"), ack.ServerOptions{Path: c.AckSocket, Mode: c.AckSocketMode,
			MaxConns: c.AckMaxConns, MaxWaits: c.AckMaxWaits,
			Observe: func(s ack.Status, d time.Duration) { r.sync.Observe(s.String(), d) }}, r.tracker, r.tail)
		fns = append(fns, srv.Run)
	}
	coll := metrics.NewMasterCollector(r.m.Stats)
	// /healthz fails while the master's data diverged.
	mrun, err := metricsRun(c.Service, log.Named("metrics"), r.m.Healthy, r.m.Ready, coll, r.sync, metrics.NewBuildInfo(buildInfo()))
	if err != nil {
		return nil, err
	}
	if mrun != nil {
		fns = append(fns, mrun, coll.Run)
	}
	rl := &reloader{log: log.Named("reload"), fs: r.fs, names: config.MasterReloadable, rebuild: r.reload, apply: r.applyReload}
	// The watchdog does not follow Healthy: a restart would forget the
	// divergence the master must keep refusing slaves for.
	return append(fns, notifyLifecycle(log.Named("systemd"), nil), rl.run), nil
}

// applyReload applies one reloadable flag's new value; the whole new
// configuration was validated first.
func (r *masterRun) applyReload(name, value string) error {
	switch name {
	case "log-level":
		return r.lvl.UnmarshalText([]byte(value))
	case "ack-policy":
		pol, err := ack.ParsePolicy(value)
		if err == nil {
			r.tracker.SetPolicy(pol)
		}
		return err
	case "fallbehind-max":
		n, err := plugins.ParseSize(value)
		if err == nil {
			r.tracker.SetFallbehindMax(n)
		}
		return err
	case "heartbeat", "housekeeping":
		d, err := time.ParseDuration(value)
		if err == nil && name == "heartbeat" {
			r.m.SetTimeouts(d, 0)
		} else if err == nil {
			r.m.SetTimeouts(0, d)
		}
		return err
	}
	return fmt.Errorf("%s is not reloadable", name)
}

// listener opens the HA port with the allow-list and TLS, if configured.
func (r *masterRun) listener() (net.Listener, error) {
	allow, err := tlsconf.ParseAllowList(r.cfg.AllowSlavesText)
	if err != nil {
		return nil, usageError{fmt.Errorf("--allow-slaves: %w", err)}
	}
	tc, err := serverTLS(r.cfg.Service)
	if err != nil {
		return nil, fmt.Errorf("master TLS: %w", err)
	}
	ln, err := net.Listen("tcp", r.cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("listen for slaves: %w", err)
	}
	ln = tlsconf.AllowListener(r.log.Named("allow"), ln, allow, nil)
	if tc != nil {
		r.log.Info("mutual TLS on the HA port: RocketMQ slaves cannot connect")
		ln = tls.NewListener(ln, tc)
	}
	return ln, nil
}

// metaServer builds the metadata mirror's server, or nil when off.
func (r *masterRun) metaServer() sidecar.MetaServer {
	m := r.cfg.Meta
	if m.Dir == "" {
		return nil
	}
	// A metadata connection idle for the housekeeping interval is closed, as
	// a silent slave is, so that it gives its slot back.
	return meta.NewServer(r.log.Named("meta"), meta.ServerOptions{Dir: m.Dir, Include: m.Include, MaxFileSize: m.MaxFileSize,
		IdleTimeout: r.cfg.Housekeeping})
}
