package main

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/hasidecar/hasidecar/sidecar/config"
	"github.com/hasidecar/hasidecar/sidecar/metrics"
	"github.com/hasidecar/hasidecar/sidecar/sdnotify"
	"github.com/hasidecar/hasidecar/sidecar/tlsconf"
)

// serviceFlags are what master and slave share as long-running services:
// the config file, metrics, TLS.
type serviceFlags struct {
	configFile    string
	metricsListen string
	tlsCert       string
	tlsKey        string
	tlsCA         string
}

func (s *serviceFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&s.configFile, configFlagName, "", "TOML configuration file; command line > HASIDECAR_* environment > file > defaults")
	fs.StringVar(&s.metricsListen, "metrics-listen", "", "serve Prometheus /metrics, /healthz and /readyz on this address (off when empty)")
	fs.StringVar(&s.tlsCert, "tls-cert", "", "PEM certificate for mutual TLS between sidecars (not RocketMQ-compatible; off when empty)")
	fs.StringVar(&s.tlsKey, "tls-key", "", "PEM private key for --tls-cert")
	fs.StringVar(&s.tlsCA, "tls-ca", "", "PEM CA bundle that signs the peer sidecars' certificates")
}

func (s *serviceFlags) typed() config.Service {
	return config.Service{MetricsListen: s.metricsListen, TLSCert: s.tlsCert, TLSKey: s.tlsKey, TLSCA: s.tlsCA}
}

func serverTLS(s config.Service) (*tls.Config, error) {
	if !s.TLS() {
		return nil, nil
	}
	return tlsconf.ServerConfig(s.TLSCert, s.TLSKey, s.TLSCA)
}

func clientTLS(s config.Service, serverName string) (*tls.Config, error) {
	if !s.TLS() {
		return nil, nil
	}
	return tlsconf.ClientConfig(s.TLSCert, s.TLSKey, s.TLSCA, serverName)
}

// metricsRun returns the metrics server's run function, or nil when off.
// healthy answers /healthz (liveness), ready /readyz (readiness).
func metricsRun(s config.Service, log *zap.Logger, healthy, ready func() error, cs ...prometheus.Collector) (func(context.Context) error, error) {
	if s.MetricsListen == "" {
		return nil, nil
	}
	reg := metrics.NewRegistry()
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register metrics: %w", err)
		}
	}
	srv := metrics.NewServer(log, s.MetricsListen, reg, healthy, metrics.WithReady(ready))
	if err := srv.Listen(); err != nil {
		return nil, err
	}
	log.Info("metrics serving", zap.String("listen", srv.Addr().String()))
	return srv.Run, nil
}

// notifyLifecycle tells systemd the service is ready, runs the watchdog
// while ctx lasts, and says STOPPING when ctx ends.
func notifyLifecycle(log *zap.Logger, healthy func() error) func(context.Context) error {
	return func(ctx context.Context) error {
		sdnotify.Ready(log)
		err := sdnotify.NewWatchdog(log, healthy).Run(ctx)
		<-ctx.Done()
		sdnotify.Stopping(log)
		return err
	}
}

// reloader re-reads the config file and environment on SIGHUP. The whole
// new configuration is built and validated as at start (rebuild); if any
// setting is invalid, nothing is applied. Otherwise the reloadable
// settings that changed go to apply, and changes to the others are logged
// as needing a restart.
type reloader struct {
	log     *zap.Logger
	fs      *flag.FlagSet // the running flags
	names   []string      // the reloadable ones
	rebuild func() (*flag.FlagSet, error)
	apply   func(name, value string) error
	after   func(ctx context.Context) // optional: more work a SIGHUP asks for
}

func (r *reloader) run(ctx context.Context) error {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGHUP)
	defer signal.Stop(ch)
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-ch:
			sdnotify.Reloading(r.log)
			r.reload()
			sdnotify.Ready(r.log)
			if r.after != nil {
				r.after(ctx)
			}
		}
	}
}

func (r *reloader) reload() {
	file := configPath(r.fs, os.Environ())
	fresh, err := r.rebuild()
	if err != nil {
		r.log.Error("reload refused: keeping the running configuration", zap.String("config", file), zap.Error(err))
		return
	}
	changes := changedFlags(r.fs, fresh)
	applied := 0
	for _, ch := range changes {
		if !slices.Contains(r.names, ch.Name) {
			r.log.Warn("reload: setting changed but needs a restart; not applied", zap.String("flag", ch.Name),
				zap.String("running", ch.Old), zap.String("new", ch.New))
			continue
		}
		if err := r.apply(ch.Name, ch.New); err != nil {
			r.log.Error("reload: value refused", zap.String("flag", ch.Name), zap.String("value", ch.New), zap.Error(err))
			continue
		}
		r.fs.Lookup(ch.Name).Value.Set(ch.New)
		applied++
		r.log.Info("reloaded", zap.String("flag", ch.Name), zap.String("old", ch.Old), zap.String("new", ch.New))
	}
	if applied == 0 {
		r.log.Info("reload: nothing changed", zap.String("config", file), zap.String("reloadable", strings.Join(r.names, ",")))
	}
}
