package ack

import (
	"container/heap"
	"context"
)

// Wait blocks until the policy's committed offset reaches off (OK), ctx
// ends (Timeout), or answers NotAvailable at once when too few slaves are
// connected or they are more than the fall-behind limit behind. An offset
// already committed is OK at once, even with an expired ctx.
func (t *Tracker) Wait(ctx context.Context, off int64) Result {
	t.mu.Lock()
	if t.committed >= off {
		r := Result{Status: OK, Acked: t.committed}
		t.mu.Unlock()
		return r
	}
	if reason := t.unavailableLocked(); reason != "" {
		r := Result{Status: NotAvailable, Acked: t.committed, Reason: reason}
		t.mu.Unlock()
		return r
	}
	if ctx.Err() != nil {
		r := Result{Status: Timeout, Acked: t.committed, Reason: "deadline passed"}
		t.mu.Unlock()
		return r
	}
	w := &waiter{off: off, done: make(chan Result, 1)}
	heap.Push(&t.waiters, w)
	t.mu.Unlock()

	select {
	case r := <-w.done:
		return r
	case <-ctx.Done():
		return t.abandon(w)
	}
}

// abandon takes a timed-out waiter out of the heap in O(log n). If an
// acknowledgement popped it meanwhile, its OK wins: it is already true.
func (t *Tracker) abandon(w *waiter) Result {
	t.mu.Lock()
	defer t.mu.Unlock()
	if w.index >= 0 {
		heap.Remove(&t.waiters, w.index)
		return Result{Status: Timeout, Acked: t.committed, Reason: "deadline passed"}
	}
	return <-w.done
}

// Waiting returns how many waits are outstanding (for tests and metrics).
func (t *Tracker) Waiting() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.waiters)
}

// Snapshot returns a consistent copy of the tracker's state, slaves sorted
// by id.
func (t *Tracker) Snapshot() Snapshot {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := Snapshot{MasterEnd: t.masterEnd, Policy: t.policy, FallbehindMax: t.fallbehindMax,
		Committed: t.committed, Slaves: make([]SlaveState, 0, len(t.slaves))}
	for _, sl := range t.slaves {
		s.Slaves = append(s.Slaves, *sl)
	}
	slicesSortByID(s.Slaves)
	return s
}
