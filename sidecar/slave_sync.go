package sidecar

import (
	"context"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
)

// syncWaker wakes the sync loop when applied bytes may have become
// unsynced. While the loop has a sync scheduled (armed) the receive path
// does not wake it: one wake per interval at most, however many frames
// arrive, and none at all while nothing is unsynced.
type syncWaker struct {
	wake  chan struct{}
	armed atomic.Bool
	wakes atomic.Int64 // the loop's wake-ups, for tests
}

func newSyncWaker() syncWaker { return syncWaker{wake: make(chan struct{}, 1)} }

// unsynced is called after bytes were applied. The loop clears armed
// before it asks the applier what is due, so either it sees these bytes
// or this call sees armed cleared and wakes it.
func (w *syncWaker) unsynced() {
	if w.armed.Load() {
		return
	}
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// syncLoop lets an interval sync happen while no frame arrives, and
// notices a stall. It sleeps until the applier's next sync is due, or, with
// nothing unsynced, until bytes are applied; it also wakes when the
// session would have been silent for StallAfter, once per StallAfter.
func (s *Slave) syncLoop(ctx context.Context) {
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for {
		now := time.Now()
		due, pending := s.syncStep(now)
		wake := time.Unix(0, s.lastFrame.Load()).Add(s.cfg.StallAfter)
		if !wake.After(now) {
			wake = now.Add(s.cfg.StallAfter)
		}
		if pending && !due.After(now) {
			due = now.Add(s.cfg.SyncEvery) // a due sync did not happen (it failed): retry, do not spin
		}
		if pending && due.Before(wake) {
			wake = due
		}
		if at, ok := s.stampSynced(false); ok && at.Before(wake) {
			wake = at // the lineage's stamp waits for its interval, not for the next frame
		}
		t.Reset(wake.Sub(now))
		select {
		case <-ctx.Done():
			return
		case <-s.sync.wake:
		case <-t.C:
		}
		s.sync.wakes.Add(1)
		s.checkStall(time.Now())
	}
}

// syncStep syncs when a sync is due and reports when the next one is.
func (s *Slave) syncStep(now time.Time) (time.Time, bool) {
	s.sync.armed.Store(false) // before the look at the applier: see unsynced
	s.mu.Lock()
	before := s.app.Synced()
	err := s.app.MaybeSync(now)
	moved := s.app.Synced() != before
	if moved {
		s.observeSynced()
	}
	due, pending := s.app.SyncDue()
	s.mu.Unlock()
	if err != nil {
		s.log.Error("sync slave segments", zap.Error(err))
	}
	if moved {
		s.poke()
	}
	if pending {
		s.sync.armed.Store(true)
	}
	return due, pending
}
