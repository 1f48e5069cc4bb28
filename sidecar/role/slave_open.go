package role

import (
	"fmt"
	"net"
	"path/filepath"
	"time"

	"go.uber.org/zap"

	"github.com/hasidecar/hasidecar/applier"
	"github.com/hasidecar/hasidecar/plugins"
	"github.com/hasidecar/hasidecar/sidecar"
	"github.com/hasidecar/hasidecar/sidecar/lineage"
)

// sidecarConfig maps the configuration onto the slave's (TLS files read).
func (r *Slave) sidecarConfig() (sidecar.SlaveConfig, error) {
	c := r.cfg
	sc := sidecar.SlaveConfig{Master: c.Master, Name: c.Name, Classic: c.Classic, AckAfter: c.AckAfter, Heartbeat: c.Heartbeat,
		Housekeeping: c.Housekeeping, MaxBackoff: c.MaxBackoff, StopOnRefusal: c.StopOnRefusal,
		SegmentSizeFromMaster: !c.Layout.SegmentSizeSet, Reopen: r.reopen,
		TruncateDiverged: c.TruncateDiverged, ScrubRate: c.ScrubRate}
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

// open opens the layout and the replica directory, after moving the old
// data aside for Reseed (the last step before the directory is opened:
// everything else is valid by then).
func (r *Slave) open() (plugins.Layout, error) {
	c := r.cfg
	lay, closeLayout, err := OpenLayoutFor(r.log, c.Layout, c.Dir)
	if err != nil {
		return nil, err
	}
	r.closers = append(r.closers, closeLayout)
	if c.Reseed {
		if err := r.moveAside(); err != nil {
			return nil, err
		}
	}
	app, err := applier.Open(r.log.Named("applier"), c.Dir, c.StateDir, lay, applier.Options{Sync: c.Sync, Interval: c.SyncInterval})
	if err != nil {
		return nil, fmt.Errorf("open slave directory: %w", err)
	}
	r.app = app
	if r.lin, err = lineage.Open(r.log.Named("lineage"), filepath.Join(c.StateDir, LineageDir)); err != nil {
		return nil, fmt.Errorf("open slave lineage: %w", err)
	}
	r.log.Info("slave recovered", zap.String("dir", c.Dir), zap.String("state_dir", c.StateDir),
		zap.Int64("end_offset", app.End()), zap.String("master", c.Master), zap.String("layout", lay.Info().String()))
	return lay, nil
}

// LineageDir is the lineage store's directory inside the state directory.
const LineageDir = "lineage"

// moveAside keeps the old directory's files for an operator, never deletes them.
func (r *Slave) moveAside() error {
	path, err := applier.MoveAside(r.cfg.Dir, r.cfg.StateDir, "reseed")
	if err != nil {
		return fmt.Errorf("reseed: %w", err)
	}
	r.log.Warn("reseed: moved the old segments and checkpoint aside; copying afresh from the master", zap.String("aside", path))
	return nil
}

// reopen opens the (empty) slave directory again with the master's segment
// size, for a slave whose segment size was not given: the checkpoint,
// which records the old size, is moved aside first (never deleted). The
// sidecar.Slave calls it before it uses the new applier.
func (r *Slave) reopen(size int64) (plugins.Layout, *applier.Applier, error) {
	l := r.cfg.Layout
	l.SegmentSize = size
	lay, closeLayout, err := OpenLayout(r.log, l)
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
	r.appMu.Lock()
	r.app, r.closers = app, append(r.closers, closeLayout)
	r.appMu.Unlock()
	return lay, app, nil
}
