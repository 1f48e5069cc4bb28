package metrics

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"
)

// ErrServer marks failures of the metrics HTTP server.
var ErrServer = errors.New("metrics: server")

// shutdownGrace bounds how long Run waits for in-flight scrapes at stop.
const shutdownGrace = 5 * time.Second

// NewRegistry returns a registry with the Go runtime and process collectors,
// the usual base for a daemon's own collectors.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// Server serves /metrics, /healthz (liveness) and /readyz (readiness).
// Listen (optional) then Run.
type Server struct {
	log     *zap.Logger
	addr    string
	handler http.Handler

	mu sync.Mutex
	ln net.Listener
}

// Option configures a Server.
type Option func(*serverOpts)

type serverOpts struct {
	ready func() error
}

// WithReady sets the readiness function behind /readyz (sidecar's
// Master.Ready or Slave.Ready). It is called on every /readyz request
// and must be cheap.
func WithReady(ready func() error) Option {
	return func(o *serverOpts) { o.ready = ready }
}

// NewServer returns a server for addr ("host:port"; ":0" picks a port, see
// Addr). healthy may be nil (always healthy); it is called on every
// /healthz request and must be cheap. Without WithReady, /readyz answers
// what /healthz answers.
func NewServer(log *zap.Logger, addr string, reg *prometheus.Registry, healthy func() error, opts ...Option) *Server {
	if log == nil {
		log = zap.NewNop()
	}
	o := serverOpts{ready: healthy}
	for _, opt := range opts {
		opt(&o)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorLog:          zap.NewStdLog(log),
		ErrorHandling:     promhttp.ContinueOnError, // a failing collector must not hide the others
		EnableOpenMetrics: true,
	}))
	mux.HandleFunc("GET /healthz", healthzHandler(healthy))
	mux.HandleFunc("GET /readyz", healthzHandler(o.ready)) // same shape: 200 "ok" or 503 with the reason
	return &Server{log: log, addr: addr, handler: mux}
}

func healthzHandler(healthy func() error) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		if healthy != nil {
			if err := healthy(); err != nil {
				w.WriteHeader(http.StatusServiceUnavailable)
				fmt.Fprintln(w, err.Error())
				return
			}
		}
		fmt.Fprintln(w, "ok")
	}
}

// Listen binds the address, so that a caller (or a test with ":0") learns
// Addr before Run. Run calls it when the caller did not.
func (s *Server) Listen() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln != nil {
		return nil
	}
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w: %w", s.addr, ErrServer, err)
	}
	s.ln = ln
	return nil
}

// Addr is the bound address after Listen, nil before.
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return nil
	}
	return s.ln.Addr()
}

// Run serves until ctx ends, then shuts down, letting in-flight requests
// finish for a few seconds, and returns nil. A listen or serve failure is
// returned.
func (s *Server) Run(ctx context.Context) error {
	if err := s.Listen(); err != nil {
		return err
	}
	s.mu.Lock()
	ln := s.ln
	s.mu.Unlock()
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          zap.NewStdLog(s.log),
	}
	s.log.Info("metrics server listening", zap.Stringer("listen", ln.Addr()))
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return fmt.Errorf("serve %s: %w: %w", ln.Addr(), ErrServer, err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
	}
	<-served // http.ErrServerClosed: the goroutine is done
	return nil
}
