package ack

import (
	"fmt"
	"slices"
	"sync"
	"time"

	"go.uber.org/zap"
)

// Tracker keeps each connected slave's acknowledged offset, computes the
// offset the policy considers replicated ("committed"), and answers WAITs.
// It is safe for concurrent use.
//
// Waiters sit in a min-heap by offset. An acknowledgement that moves the
// committed offset pops only the k waiters it satisfies: O(k log n). A
// waiter is a small heap entry, not a goroutine: its answer goes to its
// owner (a connection's output queue), and one timer, armed for the
// earliest deadline of a second heap, answers TIMEOUT.
//
// When a slave disconnects, outstanding waiters keep waiting until their own
// deadline (the slave may come back, or the remaining slaves may satisfy the
// policy); new waits get NOT_AVAILABLE while too few slaves are connected.
// Under All, "all" means all slaves connected now, so a slow slave leaving
// can move the committed offset forward.
//
// Diverge and Converged bracket a rewrite of the master's data (doc.go,
// Divergence).
type Tracker struct {
	log *zap.Logger

	mu            sync.Mutex
	policy        Policy
	fallbehindMax int64
	masterEnd     int64
	committed     int64 // -1 when fewer slaves than the policy needs
	slaves        map[string]*Replica
	div           Divergence
	master        masterInfo // the master's own state, for STATUS
	waiters       offsetHeap
	deadlines     deadlineHeap // the waiters with a deadline
	timer         *time.Timer  // fires expire at deadlines[0]; nil until needed
	timerAt       int64        // the deadline timer is armed for, 0: none
	scratch       []int64      // reused by recompute, guarded by mu
	dirty         []*waitOwner // owners answered under mu, flushed by unlockFlush
	now           func() time.Time
	base          time.Time // clock's origin
}

// NewTracker returns a tracker with policy p. fallbehindMax <= 0 turns the
// fall-behind check off.
func NewTracker(log *zap.Logger, p Policy, fallbehindMax int64) *Tracker {
	if log == nil {
		log = zap.NewNop()
	}
	return &Tracker{log: log, policy: p, fallbehindMax: fallbehindMax, committed: -1,
		slaves: make(map[string]*Replica), now: time.Now, base: time.Now()}
}

// SetPolicy replaces the policy (SIGHUP reload) and re-evaluates waiters.
func (t *Tracker) SetPolicy(p Policy) {
	t.mu.Lock()
	defer t.unlockFlush()
	t.policy = p
	t.recomputeLocked()
}

// SetFallbehindMax replaces the fall-behind limit; <= 0 turns it off.
func (t *Tracker) SetFallbehindMax(n int64) {
	t.mu.Lock()
	t.fallbehindMax = n
	t.mu.Unlock()
}

// Add registers a slave connection's record; its acknowledgement counts
// from now on (it starts at 0).
func (t *Tracker) Add(r *Replica) {
	t.mu.Lock()
	defer t.unlockFlush()
	t.slaves[r.ID] = r
	t.recomputeLocked()
}

// AddSlave registers a new record for a slave connection and returns it.
func (t *Tracker) AddSlave(id, addr string) *Replica {
	r := NewReplica(id, addr, "")
	t.Add(r)
	return r
}

// RemoveSlave forgets a closed slave connection. Outstanding waiters keep
// waiting until their deadline; see the type's comment.
func (t *Tracker) RemoveSlave(id string) {
	t.mu.Lock()
	defer t.unlockFlush()
	delete(t.slaves, id)
	t.recomputeLocked()
}

// Sent records how far the master has sent on a connection (the sender
// normally writes its Replica directly).
func (t *Tracker) Sent(id string, off int64) {
	t.mu.Lock()
	r := t.slaves[id]
	t.mu.Unlock()
	if r != nil && off > r.Sent() {
		r.SetSent(off, 0, 0)
	}
}

// Ack records a slave's acknowledgement. A decrease is ignored: an ack is
// monotonic per connection, and a reconnect is a new record. So is every
// ack of a replica tainted by Diverge.
func (t *Tracker) Ack(id string, off int64) {
	t.mu.Lock()
	defer t.unlockFlush()
	r, ok := t.slaves[id]
	if !ok || off <= r.acked.Load() || r.tainted.Load() {
		return
	}
	r.acked.Store(off)
	t.recomputeLocked()
}

// SetMasterEnd records the master's published end, for the fall-behind
// check and QUERY.
func (t *Tracker) SetMasterEnd(off int64) {
	t.mu.Lock()
	t.masterEnd = off
	t.mu.Unlock()
}

// recomputeLocked derives the committed offset from the slaves' acks and
// wakes, in offset order, every waiter it satisfies.
func (t *Tracker) recomputeLocked() {
	t.committed = t.committedLocked()
	for len(t.waiters) > 0 && t.waiters[0].off <= t.committed {
		t.answerLocked(t.waiters[0], Result{Status: OK, Acked: t.committed})
	}
	t.rearmLocked()
}

// committedLocked is max of the acks for Any, min for All, the N-th highest
// for Quorum; -1 when fewer slaves are connected than the policy needs.
func (t *Tracker) committedLocked() int64 {
	if len(t.slaves) < t.policy.need() {
		return -1
	}
	acks := t.scratch[:0]
	for _, r := range t.slaves {
		acks = append(acks, r.acked.Load())
	}
	t.scratch = acks
	switch t.policy.Kind {
	case Any:
		return slices.Max(acks)
	case All:
		return slices.Min(acks)
	case Quorum:
		slices.Sort(acks) // no allocation, unlike sort.Slice
		return acks[len(acks)-t.policy.N]
	}
	return -1
}

// unavailableLocked returns why a new wait for off cannot be served, or "".
func (t *Tracker) unavailableLocked(off int64) string {
	if t.div.Active && off > t.div.At {
		return t.divergedReasonLocked()
	}
	if n, need := len(t.slaves), t.policy.need(); n < need {
		return fmt.Sprintf("policy %s needs %d connected slave(s), %d connected", t.policy, need, n)
	}
	if behind := t.masterEnd - t.committed; t.fallbehindMax > 0 && behind > t.fallbehindMax {
		return fmt.Sprintf("slaves are %d bytes behind the master end %d, more than the fallbehind max %d",
			behind, t.masterEnd, t.fallbehindMax)
	}
	return ""
}

func slicesSortByID(s []ReplicaStatus) {
	slices.SortFunc(s, func(a, b ReplicaStatus) int {
		switch {
		case a.ID < b.ID:
			return -1
		case a.ID > b.ID:
			return 1
		}
		return 0
	})
}
