package role

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"sync"
	"sync/atomic"

	"go.uber.org/zap"

	"github.com/hasidecar/hasidecar/applier"
	"github.com/hasidecar/hasidecar/plugins"
	"github.com/hasidecar/hasidecar/sidecar"
	"github.com/hasidecar/hasidecar/sidecar/config"
	"github.com/hasidecar/hasidecar/sidecar/digest"
	"github.com/hasidecar/hasidecar/sidecar/lineage"
	"github.com/hasidecar/hasidecar/sidecar/meta"
	"github.com/hasidecar/hasidecar/sidecar/metrics"
)

// ErrMetaOff is SyncMeta's answer when the metadata mirror is off.
var ErrMetaOff = errors.New("metadata mirror is off (no meta-dir)")

// Slave is a slave sidecar built from a config.Slave: the layout, the
// applier on the replica directory, the replication loop, and when
// configured the metadata client and the metrics server.
type Slave struct {
	log  *zap.Logger
	opts Options

	mu  sync.Mutex   // guards cfg against concurrent Reloads
	cfg config.Slave // the running configuration (reloaded fields updated)

	appMu   sync.Mutex       // guards app and closers: reopen replaces app while Run runs
	app     *applier.Applier // the open applier; reopen replaces it
	closers []func() error   // the layouts opened
	lin     *lineage.Store   // the replica's lineage, in <state-dir>/lineage

	s       *sidecar.Slave
	mc      *meta.Client    // nil when the mirror is off
	mserver *metrics.Server // nil when metrics are off
	ran     atomic.Bool
	once    sync.Once
}

// NewSlave validates cfg, opens the layout and the replica directory
// (moving the old data aside first with Reseed), and binds the metrics
// port when configured; nothing connects to the master until Run. If Run is
// never called, Close releases what NewSlave took.
func NewSlave(log *zap.Logger, cfg config.Slave, opts Options) (*Slave, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("slave configuration: %w", err)
	}
	r := &Slave{log: log, opts: opts, cfg: cfg}
	scfg, err := r.sidecarConfig()
	if err != nil {
		return nil, err
	}
	lay, err := r.open()
	if err != nil {
		r.Close()
		return nil, err
	}
	if err := r.assemble(scfg, lay); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

// assemble builds the replication loop, the metrics server and the
// metadata client on the open directory.
func (r *Slave) assemble(scfg sidecar.SlaveConfig, lay plugins.Layout) error {
	log := r.log
	scfg.Lineage = r.lin
	if r.lin != nil && !scfg.Classic {
		// r.s is set below, before Run can call it: the scrub dials as
		// replication does (TLS included).
		scfg.DialDigests = func(ctx context.Context) (sidecar.DigestSource, error) { return digest.Dial(ctx, r.s.Dial) }
	}
	r.s = sidecar.NewSlave(log.Named("slave"), scfg, lay, r.app)
	srv, err := listenMetrics(r.cfg.Service, log.Named("metrics"), r.s.Healthy, r.s.Ready,
		append(slices.Clip(r.opts.Collectors), metrics.NewSlaveCollector(r.s.Stats))...)
	if err != nil {
		return err
	}
	r.mserver = srv
	if m := r.cfg.Meta; m.Dir != "" {
		r.mc = meta.NewClient(log.Named("meta"), meta.ClientOptions{Dir: m.Dir, Include: m.Include, MaxFileSize: m.MaxFileSize,
			Interval: r.cfg.MetaInterval, Delete: r.cfg.MetaDelete, Dial: r.s.Dial})
	}
	return nil
}

// Run replicates until ctx ends or the slave stops (a refusal with
// StopOnRefusal: an error matching sidecar.ErrRefused), then closes the
// directory and releases everything NewSlave took.
func (r *Slave) Run(ctx context.Context) error {
	r.ran.Store(true)
	fns := []func(context.Context) error{r.s.Run}
	if r.mserver != nil {
		fns = append(fns, r.mserver.Run)
	}
	if r.mc != nil {
		fns = append(fns, r.mc.Run)
	}
	runErr := RunAll(ctx, fns...)
	if err := r.Close(); err != nil {
		runErr = errors.Join(runErr, err)
	}
	r.log.Info("slave stopped", zap.Int64("end_offset", r.End()))
	return runErr
}

// Close closes the directory and releases the layouts and the metrics
// port; Run calls it on return.
func (r *Slave) Close() error {
	var err error
	r.once.Do(func() {
		if !r.ran.Load() {
			closeUnserved(r.mserver)
		}
		r.appMu.Lock()
		defer r.appMu.Unlock()
		if r.app != nil {
			if err = r.app.Close(); err != nil {
				r.log.Error("close slave directory", zap.Error(err))
			}
		}
		if r.lin != nil {
			if lerr := r.lin.Close(); lerr != nil {
				r.log.Error("close slave lineage", zap.Error(lerr))
				err = errors.Join(err, lerr)
			}
		}
		for _, cl := range r.closers { // after the directory: a layout plugin may serve its close
			cl()
		}
	})
	return err
}

// End is the replica's end offset: the bytes written to the directory.
func (r *Slave) End() int64 {
	r.appMu.Lock()
	defer r.appMu.Unlock()
	return r.app.End()
}

// Stats is the slave's state and progress.
func (r *Slave) Stats() sidecar.SlaveStats { return r.s.Stats() }

// Ready is nil while the slave streams from the master (readiness).
func (r *Slave) Ready() error { return r.s.Ready() }

// Healthy is nil unless the slave is stuck (liveness).
func (r *Slave) Healthy() error { return r.s.Healthy() }

// MetricsAddr is the metrics address actually bound, or nil when off.
func (r *Slave) MetricsAddr() net.Addr {
	if r.mserver == nil {
		return nil
	}
	return r.mserver.Addr()
}

// SyncMeta mirrors the master's metadata at once (ErrMetaOff when off).
func (r *Slave) SyncMeta(ctx context.Context) (meta.Result, error) {
	if r.mc == nil {
		return meta.Result{}, ErrMetaOff
	}
	return r.mc.SyncNow(ctx)
}

// Reload applies the reloadable settings of next (config.SlaveReloadable:
// log-level) after validating it as a whole; the others need a restart.
func (r *Slave) Reload(next config.Slave) error {
	if err := next.Validate(); err != nil {
		return fmt.Errorf("reload slave: %w", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.opts.setLevel(next.Log.Level); err != nil {
		return fmt.Errorf("reload slave: %w", err)
	}
	r.cfg.Log.Level = next.Log.Level
	return nil
}

// Config is the running configuration, reloaded settings included.
func (r *Slave) Config() config.Slave {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cfg
}
