package main

import (
	"context"
	"flag"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"

	"go.uber.org/zap"

	"github.com/hasidecar/hasidecar/sidecar/config"
	"github.com/hasidecar/hasidecar/sidecar/sdnotify"
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
// setting is invalid, nothing is applied. Otherwise, if a reloadable
// setting changed, the new configuration goes to apply (the role's
// Reload), and changes to the others are logged as needing a restart.
type reloader struct {
	log     *zap.Logger
	fs      *flag.FlagSet // the running flags
	names   []string      // the reloadable ones
	rebuild func() (*flag.FlagSet, func() error, error)
	after   func(ctx context.Context) // optional: more work a SIGHUP asks for
	sig     chan os.Signal            // SIGHUPs, caught from listen on
}

// listen catches SIGHUP from now on. It must run before the role logs that
// it serves or tells systemd it is ready: a SIGHUP that arrives before
// signal.Notify takes its default action and kills the process.
func (r *reloader) listen() *reloader {
	r.sig = make(chan os.Signal, 1)
	signal.Notify(r.sig, syscall.SIGHUP)
	return r
}

func (r *reloader) run(ctx context.Context) error {
	if r.sig == nil {
		r.listen()
	}
	defer signal.Stop(r.sig)
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-r.sig:
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
	fresh, apply, err := r.rebuild()
	if err != nil {
		r.log.Error("reload refused: keeping the running configuration", zap.String("config", file), zap.Error(err))
		return
	}
	changes := changedFlags(r.fs, fresh)
	reloadable := func(ch flagChange) bool { return slices.Contains(r.names, ch.Name) }
	if slices.ContainsFunc(changes, reloadable) {
		if err := apply(); err != nil {
			r.log.Error("reload refused: keeping the running configuration", zap.String("config", file), zap.Error(err))
			return
		}
	}
	applied := 0
	for _, ch := range changes {
		if !reloadable(ch) {
			r.log.Warn("reload: setting changed but needs a restart; not applied", zap.String("flag", ch.Name),
				zap.String("running", ch.Old), zap.String("new", ch.New))
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
