package role

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/hasidecar/hasidecar/plugins"
	"github.com/hasidecar/hasidecar/sidecar"
	"github.com/hasidecar/hasidecar/sidecar/ack"
	"github.com/hasidecar/hasidecar/sidecar/config"
	"github.com/hasidecar/hasidecar/sidecar/lineage"
	"github.com/hasidecar/hasidecar/sidecar/metrics"
	"github.com/hasidecar/hasidecar/tailer"
)

// Master is a master sidecar built from a config.Master: the layout, the
// tailer, the ack tracker, the HA listener, and when configured the ack
// socket, the metadata server and the metrics server.
type Master struct {
	log  *zap.Logger
	opts Options
	lay  plugins.Layout

	mu  sync.Mutex    // guards cfg against concurrent Reloads
	cfg config.Master // the running configuration (reloaded fields updated)

	tracker *ack.Tracker
	tail    *tailer.Tailer
	store   *lineage.Store // nil without a state directory
	m       *sidecar.Master
	ln      net.Listener
	fns     []func(context.Context) error // the services Run runs beside the HA port
	mserver *metrics.Server               // nil when metrics are off
	closers []func() error                // the layout plugin, the listeners
	ran     atomic.Bool                   // Run was called: it serves, then closes, the listeners
	once    sync.Once
}

// NewMaster validates cfg, opens the layout and binds the HA port (and the
// metrics port when configured); nothing is served until Run. If Run is
// never called, Close releases what NewMaster took.
func NewMaster(log *zap.Logger, cfg config.Master, opts Options) (*Master, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("master configuration: %w", err)
	}
	if _, err := os.Stat(cfg.Dir); errors.Is(err, os.ErrNotExist) {
		log.Warn("segment directory does not exist yet; waiting for the writer to create it", zap.String("dir", cfg.Dir))
	}
	lay, closeLayout, err := OpenLayoutFor(log, cfg.Layout, cfg.Dir)
	if err != nil {
		return nil, err
	}
	r := &Master{log: log, opts: opts, lay: lay, cfg: cfg, closers: []func() error{closeLayout}}
	if err := r.assemble(); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

// assemble builds the parts and binds the listeners.
func (r *Master) assemble() error {
	log, c := r.log, r.cfg
	r.tracker = ack.NewTracker(log.Named("ack"), c.AckPolicy, c.FallbehindMax)
	r.tail = tailer.New(log.Named("tailer"), c.Dir, r.lay, c.Tail)
	if err := r.openLineage(); err != nil {
		return err
	}
	r.m = sidecar.NewMaster(log.Named("master"), r.sidecarConfig(), r.lay, r.tail, r.tracker)
	ln, err := r.listener()
	if err != nil {
		return err
	}
	r.ln = ln
	r.closers = append(r.closers, ln.Close)
	return r.services()
}

// sidecarConfig maps the configuration onto the master's.
func (r *Master) sidecarConfig() sidecar.MasterConfig {
	c := r.cfg
	return sidecar.MasterConfig{Batch: int(c.Batch), Heartbeat: c.Heartbeat, Housekeeping: c.Housekeeping, Initial: c.Initial,
		ReportGrace: c.ReportGrace, GapLog: c.GapLog, MaxSlaves: c.MaxSlaves, MaxMetaConns: c.MaxMetaConns, Meta: r.metaServer(),
		Lineage: r.store, Dir: c.Dir, MaxDigestConns: c.MaxDigestConns}
}

// openLineage opens the lineage store in StateDir/lineage; without a
// state directory the master keeps none.
func (r *Master) openLineage() error {
	if r.cfg.StateDir == "" {
		r.log.Info("no state directory: the master keeps no lineage; hellos compare only the tail digest")
		return nil
	}
	dir := filepath.Join(r.cfg.StateDir, "lineage")
	st, err := lineage.Open(r.log.Named("lineage"), dir)
	if err != nil && r.cfg.StateDirDefaulted {
		r.log.Warn("cannot create the default state directory beside --dir: the master keeps no lineage; give it a --state-dir it can write",
			zap.String("state_dir", r.cfg.StateDir), zap.Error(err))
		return nil
	}
	if err != nil {
		return fmt.Errorf("open the master's lineage in %s: %w", dir, err)
	}
	r.store = st
	r.closers = append(r.closers, st.Close)
	return nil
}

// services lists the goroutines of a running master besides the HA port.
func (r *Master) services() error {
	log, c := r.log, r.cfg
	sync := metrics.NewSyncMetrics()
	r.fns = []func(context.Context) error{r.tail.Run}
	if c.AckSocket != "" {
		srv := ack.NewServer(log.Named("ack_socket"), ack.ServerOptions{Path: c.AckSocket, Mode: c.AckSocketMode,
			MaxConns: c.AckMaxConns, MaxWaits: c.AckMaxWaits,
			Observe: func(s ack.Status, d time.Duration) { sync.Observe(s.String(), d) }}, r.tracker, r.tail)
		r.fns = append(r.fns, srv.Run)
	}
	coll := metrics.NewMasterCollector(r.m.Stats)
	// /healthz fails while the master's data diverged.
	srv, err := listenMetrics(c.Service, log.Named("metrics"), r.m.Healthy, r.m.Ready,
		append(slices.Clip(r.opts.Collectors), coll, sync)...)
	if err != nil {
		return err
	}
	if srv != nil {
		r.mserver = srv
		r.fns = append(r.fns, srv.Run, coll.Run)
	}
	return nil
}

// Run serves slaves until ctx ends or a part fails, then releases
// everything NewMaster took. It returns nil after ctx ends.
func (r *Master) Run(ctx context.Context) error {
	c := r.Config()
	r.log.Info("master serving", zap.String("dir", c.Dir), zap.String("listen", r.ln.Addr().String()),
		zap.String("layout", r.lay.Info().String()), zap.String("ack_policy", c.AckPolicy.String()))
	r.ran.Store(true)
	err := RunAll(ctx, append(r.fns, func(ctx context.Context) error { return r.m.Serve(ctx, r.ln) })...)
	r.log.Info("master stopped", zap.Error(err))
	r.Close()
	return err
}

// Close releases the layout and the listeners; Run calls it on return.
func (r *Master) Close() error {
	var errs []error
	r.once.Do(func() {
		if !r.ran.Load() {
			closeUnserved(r.mserver)
		}
		for i := len(r.closers) - 1; i >= 0; i-- {
			if err := r.closers[i](); err != nil && !errors.Is(err, net.ErrClosed) {
				errs = append(errs, err)
			}
		}
	})
	return errors.Join(errs...)
}

// Addr is the HA address actually bound (with its port when Listen asked
// for port 0).
func (r *Master) Addr() net.Addr { return r.ln.Addr() }

// MetricsAddr is the metrics address actually bound, or nil when off.
func (r *Master) MetricsAddr() net.Addr {
	if r.mserver == nil {
		return nil
	}
	return r.mserver.Addr()
}

// Stats is the master's state, its end and each connected slave's progress.
func (r *Master) Stats() sidecar.MasterStats { return r.m.Stats() }

// Ready is nil while the master serves (readiness, /readyz).
func (r *Master) Ready() error { return r.m.Ready() }

// Healthy is nil unless the master's data diverged (liveness, /healthz).
func (r *Master) Healthy() error { return r.m.Healthy() }

// Layout is the layout the master serves.
func (r *Master) Layout() plugins.Layout { return r.lay }
