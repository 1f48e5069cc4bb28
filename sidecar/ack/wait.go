package ack

import (
	"container/heap"
	"context"
	"time"
)

// submitted says what submit did with a waiter.
type submitted uint8

const (
	answered  submitted = iota // at once: the Result is the answer
	parked                     // in the heaps: its owner gets the answer later
	fullOwner                  // refused: the owner has maxOwner waits outstanding
	fullTotal                  // refused: the tracker has maxTotal waits outstanding
)

// Wait blocks until the policy's committed offset reaches off (OK), ctx
// ends (Timeout), or answers NotAvailable at once when too few slaves are
// connected or they are more than the fall-behind limit behind. An offset
// already committed is OK at once, even with an expired ctx.
func (t *Tracker) Wait(ctx context.Context, off int64) Result {
	ch := make(chan Result, 1)
	own := &waitOwner{answer: func(_ *waiter, r Result) { ch <- r }}
	w := &waiter{off: off, deadline: noDeadline, owner: own}
	if ctx.Err() != nil {
		w.deadline = 0 // answered at once: OK, NOT_AVAILABLE or TIMEOUT
	}
	if r, how := t.submit(w, 0, 0); how == answered {
		return r
	}
	select {
	case r := <-ch:
		return r
	case <-ctx.Done():
		if t.cancel(w) {
			return t.timeoutResult()
		}
		return <-ch // an acknowledgement answered it meanwhile: its OK is true
	}
}

// submit answers w at once when it can (already committed, not available,
// deadline passed), else parks it in the heaps, unless that would exceed
// maxTotal waits in the tracker or maxOwner for w's owner (0: no limit).
func (t *Tracker) submit(w *waiter, maxTotal, maxOwner int) (Result, submitted) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.clock()
	w.start, w.oi, w.di = now, -1, -1
	diverged := t.div.Active && w.off > t.div.At // committed says nothing up there
	if t.committed >= w.off && !diverged {
		return Result{Status: OK, Acked: t.committed}, answered
	}
	switch reason := t.unavailableLocked(w.off); {
	case reason != "":
		return Result{Status: NotAvailable, Acked: t.committed, Reason: reason}, answered
	case w.deadline <= now:
		return Result{Status: Timeout, Acked: t.committed, Reason: "deadline passed"}, answered
	case maxTotal > 0 && len(t.waiters) >= maxTotal:
		return Result{}, fullTotal
	case maxOwner > 0 && w.owner.n >= maxOwner:
		return Result{}, fullOwner
	}
	heap.Push(&t.waiters, w)
	if w.deadline != noDeadline {
		heap.Push(&t.deadlines, w)
		t.rearmLocked()
	}
	w.owner.link(w)
	return Result{}, parked
}

// cancel takes a parked waiter back without an answer; false if it was
// answered already.
func (t *Tracker) cancel(w *waiter) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if w.oi < 0 {
		return false
	}
	t.removeLocked(w)
	t.rearmLocked()
	return true
}

// cancelOwner takes back every parked waiter of o (a closing connection
// abandons its waits) in O(k log n).
func (t *Tracker) cancelOwner(o *waitOwner) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for o.head != nil {
		t.removeLocked(o.head)
	}
	t.rearmLocked()
}

// removeLocked takes w out of both heaps and its owner's list. The caller
// re-arms the timer once it is done removing (rearmLocked).
func (t *Tracker) removeLocked(w *waiter) {
	heap.Remove(&t.waiters, int(w.oi))
	if w.di >= 0 {
		heap.Remove(&t.deadlines, int(w.di))
	}
	w.owner.unlink(w)
}

// answerLocked removes w and hands r to its owner. An owner that writes
// its answers somewhere (a connection) is flushed by unlockFlush.
func (t *Tracker) answerLocked(w *waiter, r Result) {
	t.removeLocked(w)
	o := w.owner
	o.answer(w, r)
	if o.flush != nil && !o.dirty {
		o.dirty = true
		t.dirty = append(t.dirty, o)
	}
}

// unlockFlush releases the lock, then flushes every owner answered under
// it: the goroutine whose acknowledgement satisfied the waits writes their
// answers itself, one write per connection however many waits it
// satisfied (group commit), instead of waking each connection's writer.
// Every method that may answer ends with it.
func (t *Tracker) unlockFlush() {
	if len(t.dirty) == 0 {
		t.mu.Unlock()
		return
	}
	var local [8]*waitOwner
	owners := append(local[:0], t.dirty...)
	for i, o := range t.dirty {
		o.dirty, t.dirty[i] = false, nil
	}
	t.dirty = t.dirty[:0]
	t.mu.Unlock()
	for _, o := range owners {
		o.flush()
	}
}

func (t *Tracker) timeoutResult() Result {
	t.mu.Lock()
	defer t.mu.Unlock()
	return Result{Status: Timeout, Acked: t.committed, Reason: "deadline passed"}
}

// clock is nanoseconds on the monotonic clock since the tracker was made.
func (t *Tracker) clock() int64 { return int64(time.Since(t.base)) }

// rearmLocked points the tracker's one timer at the earliest deadline, or
// stops it when no waiter has one; every call that adds or removes waiters
// ends with it (O(1) when the earliest deadline did not change). A firing
// that finds nothing due (the top changed meanwhile) just re-arms.
func (t *Tracker) rearmLocked() {
	if len(t.deadlines) == 0 {
		if t.timer != nil {
			t.timer.Stop()
		}
		t.timerAt = 0
		return
	}
	at := t.deadlines[0].deadline
	if at == t.timerAt {
		return
	}
	t.timerAt = at
	d := time.Duration(at - t.clock())
	if t.timer == nil {
		t.timer = time.AfterFunc(d, t.expire)
	} else {
		t.timer.Reset(d)
	}
}

// expire answers TIMEOUT to every waiter whose deadline has passed, in
// deadline order, then re-arms the timer.
func (t *Tracker) expire() {
	t.mu.Lock()
	defer t.unlockFlush()
	t.timerAt = 0
	now := t.clock()
	for len(t.deadlines) > 0 && t.deadlines[0].deadline <= now {
		t.answerLocked(t.deadlines[0], Result{Status: Timeout, Acked: t.committed, Reason: "deadline passed"})
	}
	t.rearmLocked()
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
		Committed: t.committed, Slaves: make([]ReplicaStatus, 0, len(t.slaves)), Divergence: t.div,
		MasterState: t.master.state, MasterReason: t.master.reason}
	for _, r := range t.slaves {
		s.Slaves = append(s.Slaves, r.Status())
	}
	slicesSortByID(s.Slaves)
	return s
}
