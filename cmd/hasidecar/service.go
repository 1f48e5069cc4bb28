package main

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/hasidecar/hasidecar/sidecar/metrics"
	"github.com/hasidecar/hasidecar/sidecar/sdnotify"
	"github.com/hasidecar/hasidecar/sidecar/tlsconf"
)

// serviceFlags are what master and slave share as long-running services:
// the config file, metrics, TLS.
type serviceFlags struct {
	config        string
	metricsListen string
	tlsCert       string
	tlsKey        string
	tlsCA         string
}

func (s *serviceFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&s.config, configFlagName, "", "TOML configuration file; command line > HASIDECAR_* environment > file > defaults")
	fs.StringVar(&s.metricsListen, "metrics-listen", "", "serve Prometheus /metrics and /healthz on this address (off when empty)")
	fs.StringVar(&s.tlsCert, "tls-cert", "", "PEM certificate for mutual TLS between sidecars (not RocketMQ-compatible; off when empty)")
	fs.StringVar(&s.tlsKey, "tls-key", "", "PEM private key for --tls-cert")
	fs.StringVar(&s.tlsCA, "tls-ca", "", "PEM CA bundle that signs the peer sidecars' certificates")
}

// parseService parses the command line, then layers the environment and
// the config file under it.
func parseService(fs *flag.FlagSet, args []string) error {
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	return applyConfig(fs, configPath(fs, os.Environ()), os.Environ())
}

func (s *serviceFlags) tlsEnabled() (bool, error) {
	set := 0
	for _, v := range []string{s.tlsCert, s.tlsKey, s.tlsCA} {
		if v != "" {
			set++
		}
	}
	if set != 0 && set != 3 {
		return false, usageError{fmt.Errorf("--tls-cert, --tls-key and --tls-ca go together")}
	}
	return set == 3, nil
}

func (s *serviceFlags) serverTLS() (*tls.Config, error) {
	on, err := s.tlsEnabled()
	if err != nil || !on {
		return nil, err
	}
	return tlsconf.ServerConfig(s.tlsCert, s.tlsKey, s.tlsCA)
}

func (s *serviceFlags) clientTLS(serverName string) (*tls.Config, error) {
	on, err := s.tlsEnabled()
	if err != nil || !on {
		return nil, err
	}
	return tlsconf.ClientConfig(s.tlsCert, s.tlsKey, s.tlsCA, serverName)
}

// metricsRun returns the metrics server's run function, or nil when off.
func (s *serviceFlags) metricsRun(log *zap.Logger, healthy func() error, cs ...prometheus.Collector) (func(context.Context) error, error) {
	if s.metricsListen == "" {
		return nil, nil
	}
	reg := metrics.NewRegistry()
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register metrics: %w", err)
		}
	}
	srv := metrics.NewServer(log, s.metricsListen, reg, healthy)
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

// reloader re-reads the config file and environment on SIGHUP and hands the
// reloadable flags that changed to apply, which logs and applies them.
type reloader struct {
	log   *zap.Logger
	fs    *flag.FlagSet
	names []string
	apply func(name, value string) error
	after func(ctx context.Context) // optional: more work a SIGHUP asks for
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
	vals, err := reloadValues(r.fs, file, os.Environ(), r.names)
	if err != nil {
		r.log.Error("reload refused: keeping the running configuration", zap.String("config", file), zap.Error(err))
		return
	}
	changes := changedFlags(r.fs, vals)
	for _, ch := range changes {
		if err := r.apply(ch.Name, ch.New); err != nil {
			r.log.Error("reload: value refused", zap.String("flag", ch.Name), zap.String("value", ch.New), zap.Error(err))
			continue
		}
		r.fs.Lookup(ch.Name).Value.Set(ch.New)
		r.log.Info("reloaded", zap.String("flag", ch.Name), zap.String("old", ch.Old), zap.String("new", ch.New))
	}
	if len(changes) == 0 {
		r.log.Info("reload: nothing changed", zap.String("config", file), zap.String("reloadable", strings.Join(r.names, ",")))
	}
}
