package ack

import (
	"fmt"
	"time"

	"go.uber.org/zap"
)

// Divergence is the tracker's diverged state: the master's data above At
// was rewritten (Since, Reason), so no acknowledgement above At means the
// slaves hold the master's current bytes.
type Divergence struct {
	Active bool      `json:"active"`
	At     int64     `json:"at"`
	Reason string    `json:"reason,omitempty"`
	Since  time.Time `json:"since,omitzero"`
}

// Diverge records that the master's data above at was rewritten. Every
// registered slave that was sent more than at is tainted: its acknowledged
// offset is capped at at and its later acks are ignored (the master is
// about to disconnect it), and the committed offset is recomputed. Every
// outstanding wait above at is answered NOT_AVAILABLE at once, and so is
// every new one above at until Converged; waits at or below at behave as
// usual. A Diverge while diverged keeps the lower at and the first since.
func (t *Tracker) Diverge(at int64, reason string) {
	t.mu.Lock()
	defer t.unlockFlush()
	if !t.div.Active || at < t.div.At {
		t.div.At = at
	}
	if !t.div.Active {
		t.div.Since = t.now()
	}
	t.div.Active, t.div.Reason = true, reason
	tainted := 0
	for _, r := range t.slaves {
		if r.Sent() > t.div.At {
			r.Taint()
			r.acked.Store(min(r.acked.Load(), t.div.At))
			tainted++
		}
	}
	t.committed = t.committedLocked()
	answered := t.answerAboveLocked(t.div.At, Result{Status: NotAvailable, Acked: t.committed, Reason: t.divergedReasonLocked()})
	t.recomputeLocked()
	t.log.Warn("master data diverged: no acknowledgement above the offset counts until converged",
		zap.Int64("divergence_offset", t.div.At), zap.String("reason", reason),
		zap.Int("tainted_slaves", tainted), zap.Int("waits_answered", answered))
}

// Converged ends the diverged state: new waits above the divergence offset
// are judged by acknowledgements again, of untainted slaves only (a tainted
// slave's acks stay ignored until it is removed).
func (t *Tracker) Converged() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.div.Active {
		return
	}
	t.log.Info("master data converged", zap.Int64("divergence_offset", t.div.At),
		zap.Duration("diverged_for", t.now().Sub(t.div.Since)))
	t.div = Divergence{}
}

// answerAboveLocked answers r to every waiter above off; O(n + k log n).
func (t *Tracker) answerAboveLocked(off int64, r Result) int {
	var above []*waiter
	for _, w := range t.waiters {
		if w.off > off {
			above = append(above, w)
		}
	}
	for _, w := range above {
		t.answerLocked(w, r)
	}
	t.rearmLocked()
	return len(above)
}

// divergedReasonLocked is the NOT_AVAILABLE reason while diverged.
func (t *Tracker) divergedReasonLocked() string {
	return fmt.Sprintf("the master's data above offset %d was rewritten (diverged): %s", t.div.At, t.div.Reason)
}
