package sidecar

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/hasidecar/hasidecar/plugins"
	"github.com/hasidecar/hasidecar/sidecar/lineage"
	"github.com/hasidecar/hasidecar/tailer"
)

// feedPiece is the most one tailer.Read hands the store, and feedBudget
// the most one pass hashes before it looks at divergences and the clock
// again: a back-fill of a whole directory must not delay a Truncate.
const (
	feedPiece  = 4 << 20
	feedBudget = 64 << 20
)

// feeder hashes every byte the tailer publishes into the master's lineage
// store, in order, segment by segment: the store then holds the digests the
// hello and the digest channel compare a slave's bytes with. At start it
// back-fills what the store lacks (a first run, or the bytes published
// while the master was down) through the same path. A divergence of the
// tailer truncates the lineage at its offset; a segment retention deleted
// is forgotten. Only its goroutine (run) changes the store.
type feeder struct {
	log   *zap.Logger
	store *lineage.Store
	tail  *tailer.Tailer
	lay   plugins.Layout
	info  plugins.Info
	dir   string

	divAt   atomic.Int64 // lowest divergence offset not yet applied; math.MaxInt64: none
	hashed  atomic.Int64 // bytes hashed since start: feed, back-fill and rebuilds
	rebuilt atomic.Int64 // segments rebuilt from their files because they changed while we were down
	covered atomic.Int64 // every published byte from the oldest segment below it is hashed

	mu      sync.Mutex
	changed chan struct{} // closed when covered moves; guarded by mu

	// Owned by run's goroutine.
	low     int64           // lowest segment not hashed to its end
	stamped map[int64]int64 // segment base -> coverage when last stamped
	oldest  int64           // the tailer's Oldest at the last check for removed segments
}

func newFeeder(log *zap.Logger, store *lineage.Store, t *tailer.Tailer, lay plugins.Layout, dir string) *feeder {
	f := &feeder{log: log, store: store, tail: t, lay: lay, info: lay.Info(), dir: dir,
		changed: make(chan struct{}), stamped: map[int64]int64{}, oldest: -1}
	f.divAt.Store(math.MaxInt64)
	return f
}

// noteDiverge records a divergence for run to apply. It runs in the
// tailer's divergence hook (its lock held): it only stores the offset.
func (f *feeder) noteDiverge(at int64) {
	for {
		cur := f.divAt.Load()
		if at >= cur || f.divAt.CompareAndSwap(cur, at) {
			return
		}
	}
}

// run feeds the store until ctx ends, syncing it every second while the
// tailer's state moved since the last sync, and once more on the way out.
// A master with nothing new does not wake for the lineage (the tick's
// channel is not waited on, so the runtime does not fire it).
func (f *feeder) run(ctx context.Context) {
	f.reconcile()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	defer f.sync()
	dirty, synced := true, tailer.State{} // reconcile may have truncated: sync once
	for {
		ch := f.tail.Changed()
		f.applyDivergence()
		st := f.tail.State()
		f.forgetRemoved(st)
		more := f.feed(st)
		dirty = dirty || more || st != synced
		var wake <-chan struct{} = ch
		if more {
			wake = closedChan // keep going, but still see ctx and the tick
		}
		var tickC <-chan time.Time
		if dirty {
			tickC = tick.C
		}
		select {
		case <-ctx.Done():
			return
		case <-tickC:
			f.sync()
			dirty, synced = false, st
		case <-wake:
		}
	}
}

var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// feed hashes published bytes the store lacks, oldest first, up to
// feedBudget. It reports whether more remains to hash now.
func (f *feeder) feed(st tailer.State) bool {
	if !st.DirExists || st.Segments == 0 {
		return false
	}
	f.low = max(f.low, st.Oldest)
	budget := int64(feedBudget)
	for base := f.low; base < st.End; base += f.info.SegmentSize {
		segEnd := min(base+f.info.SegmentSize, st.End)
		cov, ok := f.feedSegment(base, segEnd, &budget)
		if !ok || cov < segEnd {
			f.setCovered(cov)
			return ok && budget <= 0
		}
		if cov >= base+f.info.SegmentSize && base == f.low {
			f.low = base + f.info.SegmentSize
		}
	}
	f.setCovered(st.End)
	return false
}

// feedSegment hashes the segment at base up to end within budget and
// returns the coverage reached; ok is false when it cannot go on now (the
// bytes are not readable yet, or the segment went away).
func (f *feeder) feedSegment(base, end int64, budget *int64) (int64, bool) {
	if err := f.store.Segment(base, f.info.SegmentSize, f.lay.SegmentName(base)); err != nil {
		f.log.Error("register segment in the lineage", zap.Int64("segment_offset", base), zap.Error(err))
		return base, false
	}
	cov, _ := f.store.Covered(base)
	for cov < end && *budget > 0 {
		ch, err := f.tail.Read(cov, int(min(end-cov, feedPiece)))
		if err != nil {
			if !errors.Is(err, tailer.ErrGone) && !errors.Is(err, tailer.ErrBeyondEnd) {
				f.log.Warn("read published bytes for the lineage", zap.Int64("offset", cov), zap.Error(err))
			}
			return cov, false // gone: forgotten on the next pass; beyond: a divergence lowered the end
		}
		n := int64(len(ch.Data))
		if n == 0 {
			ch.Release()
			return cov, false // not mapped yet: the tailer says when it changes
		}
		err = f.store.Append(base, cov, ch.Data)
		ch.Release()
		if err != nil {
			f.log.Error("hash published bytes into the lineage", zap.Int64("offset", cov), zap.Error(err))
			return cov, false
		}
		cov += n
		*budget -= n
		f.hashed.Add(n)
	}
	return cov, true
}

// setCovered publishes how far the lineage follows the tailer.
func (f *feeder) setCovered(off int64) {
	if f.covered.Swap(off) == off {
		return
	}
	f.mu.Lock()
	close(f.changed)
	f.changed = make(chan struct{})
	f.mu.Unlock()
}

// waitCovered waits until the lineage covers off, ctx ends or d passes,
// and reports whether it does.
func (f *feeder) waitCovered(ctx context.Context, off int64, d time.Duration) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		f.mu.Lock()
		ch := f.changed
		f.mu.Unlock()
		if f.covered.Load() >= off {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-timer.C:
			return false
		case <-ch:
		}
	}
}

// applyDivergence truncates the lineage at a divergence the tailer found:
// the bytes from there on may be rewritten, so their digests say nothing.
func (f *feeder) applyDivergence() {
	at := f.divAt.Swap(math.MaxInt64)
	if at == math.MaxInt64 {
		return
	}
	for _, s := range f.store.Segments() {
		cut := max(at, s.Base)
		if s.Base+s.Size <= at || s.Covered <= cut {
			continue
		}
		if err := f.store.Truncate(s.Base, cut); err != nil {
			f.log.Error("truncate the lineage at a divergence", zap.String("segment", s.Name), zap.Int64("divergence_offset", at), zap.Error(err))
			continue
		}
		delete(f.stamped, s.Base)
		now, _ := f.store.Covered(s.Base)
		f.log.Warn("lineage truncated at a divergence of the master's data", zap.String("segment", s.Name),
			zap.Int64("divergence_offset", at), zap.Int64("end", now), zap.Int64("bytes", s.Covered-now))
	}
	f.low = min(f.low, plugins.SegmentStart(f.info, at))
	f.setCovered(min(f.covered.Load(), at))
}

// forgetRemoved drops the lineage of segments below the tailer's oldest
// whose files are gone (retention). A segment below Oldest whose file is
// still there (a gap in the directory) keeps its lineage.
func (f *feeder) forgetRemoved(st tailer.State) {
	if !st.DirExists || st.Segments == 0 || st.Oldest == f.oldest {
		return
	}
	f.oldest = st.Oldest
	for _, s := range f.store.Segments() {
		if s.Base >= st.Oldest {
			break
		}
		if _, err := os.Stat(filepath.Join(f.dir, s.Name)); !errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err := f.store.Forget(s.Base); err != nil {
			f.log.Error("forget the lineage of a deleted segment", zap.String("segment", s.Name), zap.Error(err))
			continue
		}
		delete(f.stamped, s.Base)
		f.log.Info("segment deleted: lineage forgotten", zap.String("segment", s.Name), zap.Int64("segment_offset", s.Base))
	}
}

// LineageStats is the master's lineage feeder, for metrics.
type LineageStats struct {
	Enabled bool  // the master keeps lineage (a state directory)
	Covered int64 // every published byte from the oldest segment below it is hashed
	Hashed  int64 // bytes hashed since start (feed, back-fill, segments hashed again)
	// Rehashed counts the segments whose lineage was dropped at start
	// because their files changed since it was stamped.
	Rehashed int64
}

func (f *feeder) stats() LineageStats {
	return LineageStats{Enabled: true, Covered: f.covered.Load(), Hashed: f.hashed.Load(), Rehashed: f.rebuilt.Load()}
}
