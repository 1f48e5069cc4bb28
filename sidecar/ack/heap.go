package ack

import "math"

// noDeadline marks a waiter that only its caller ends (Tracker.Wait's ctx).
const noDeadline = math.MaxInt64

// waiter is one outstanding WAIT: a small heap entry, no goroutine. It sits
// in the tracker's offset heap, in its deadline heap (unless noDeadline),
// and in its owner's list, until it is answered or cancelled. All fields
// are guarded by Tracker.mu once the waiter is submitted.
type waiter struct {
	off      int64
	deadline int64 // Tracker.clock nanoseconds; noDeadline: none
	start    int64 // Tracker.clock at submit, for ServerOptions.Observe
	id       uint32
	oi, di   int32 // index in the offset / deadline heap, -1 when out of it
	owner    *waitOwner
	prev     *waiter // the owner's list
	next     *waiter
}

// offsetHeap is a min-heap by offset, so an acknowledgement pops exactly
// the waiters it satisfies, lowest offset first, and never looks at the rest.
type offsetHeap []*waiter

func (h offsetHeap) Len() int           { return len(h) }
func (h offsetHeap) Less(i, j int) bool { return h[i].off < h[j].off }
func (h offsetHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].oi, h[j].oi = int32(i), int32(j)
}

func (h *offsetHeap) Push(x any) {
	w := x.(*waiter)
	w.oi = int32(len(*h))
	*h = append(*h, w)
}

func (h *offsetHeap) Pop() any {
	w := popLast((*[]*waiter)(h))
	w.oi = -1
	return w
}

// deadlineHeap is a min-heap by deadline: the tracker's one timer fires
// for its top.
type deadlineHeap []*waiter

func (h deadlineHeap) Len() int           { return len(h) }
func (h deadlineHeap) Less(i, j int) bool { return h[i].deadline < h[j].deadline }
func (h deadlineHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].di, h[j].di = int32(i), int32(j)
}

func (h *deadlineHeap) Push(x any) {
	w := x.(*waiter)
	w.di = int32(len(*h))
	*h = append(*h, w)
}

func (h *deadlineHeap) Pop() any {
	w := popLast((*[]*waiter)(h))
	w.di = -1
	return w
}

// shrinkAt is the backing-array capacity above which an emptied heap gives
// its array back, so a burst of waits does not pin its peak memory.
const shrinkAt = 256

func popLast(h *[]*waiter) *waiter {
	old := *h
	n := len(old)
	w := old[n-1]
	old[n-1] = nil // let the GC have it
	*h = old[:n-1]
	if n == 1 && cap(old) > shrinkAt {
		*h = nil
	}
	return w
}

// waitOwner is where answers go: one ack connection, or one blocking
// Tracker.Wait call. It lists its outstanding waiters so that a closing
// connection takes them all back in O(k log n). Guarded by Tracker.mu.
type waitOwner struct {
	// answer delivers w's result. It is called with Tracker.mu held: it
	// must not block and must not call the tracker.
	answer func(w *waiter, r Result)
	// flush, if set, writes the answers given since the last flush. It is
	// called without Tracker.mu, after the lock is released (unlockFlush),
	// and must not block.
	flush func()
	dirty bool // answered since the last flush: in Tracker.dirty
	head  *waiter
	n     int
}

func (o *waitOwner) link(w *waiter) {
	w.prev, w.next = nil, o.head
	if o.head != nil {
		o.head.prev = w
	}
	o.head = w
	o.n++
}

func (o *waitOwner) unlink(w *waiter) {
	if w.prev != nil {
		w.prev.next = w.next
	} else {
		o.head = w.next
	}
	if w.next != nil {
		w.next.prev = w.prev
	}
	w.prev, w.next = nil, nil
	o.n--
}
