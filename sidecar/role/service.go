package role

import (
	"context"
	"crypto/tls"
	"fmt"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/hasidecar/hasidecar/sidecar/config"
	"github.com/hasidecar/hasidecar/sidecar/metrics"
	"github.com/hasidecar/hasidecar/sidecar/tlsconf"
)

// Options are what an embedding program adds to a role's configuration.
type Options struct {
	// Level is the logger's level, if the program wants Reload to apply
	// log-level to it; nil leaves the level alone.
	Level *zap.AtomicLevel
	// Collectors are registered on the metrics server beside the role's own
	// (cmd/hasidecar adds its build information).
	Collectors []prometheus.Collector
}

// setLevel applies a reloaded log-level; level is valid (Validate).
func (o Options) setLevel(level string) error {
	if o.Level == nil {
		return nil
	}
	if err := o.Level.UnmarshalText([]byte(level)); err != nil {
		return fmt.Errorf("log-level %q: %w", level, err)
	}
	return nil
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

// listenMetrics binds the metrics server, or returns nil when it is off.
// healthy answers /healthz (liveness), ready /readyz (readiness).
func listenMetrics(s config.Service, log *zap.Logger, healthy, ready func() error, cs ...prometheus.Collector) (*metrics.Server, error) {
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
	return srv, nil
}

// RunAll runs each function with a shared context; the first error (or the
// first function to return) cancels the rest, and RunAll waits for all. A
// program that runs a role beside its own loops can use it.
func RunAll(ctx context.Context, fns ...func(context.Context) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg    sync.WaitGroup
		once  sync.Once
		first error
	)
	for _, fn := range fns {
		wg.Go(func() {
			err := fn(ctx)
			once.Do(func() { first = err })
			cancel()
		})
	}
	wg.Wait()
	return first
}

// closeUnserved releases a metrics server that was bound but never run:
// serving with an ended context shuts it down at once.
func closeUnserved(srv *metrics.Server) {
	if srv == nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	srv.Run(ctx)
}
