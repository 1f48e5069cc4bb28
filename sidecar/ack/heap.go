package ack

// waiter is one outstanding WAIT. index is its place in the heap, -1 once
// it has been popped (answered) or removed (timed out).
type waiter struct {
	off   int64
	index int
	done  chan Result // buffered 1: the waker never blocks
}

// waiterHeap is a min-heap by offset, so an acknowledgement pops exactly
// the waiters it satisfies, cheapest first, and never looks at the rest.
type waiterHeap []*waiter

func (h waiterHeap) Len() int           { return len(h) }
func (h waiterHeap) Less(i, j int) bool { return h[i].off < h[j].off }
func (h waiterHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index = i
	h[j].index = j
}

func (h *waiterHeap) Push(x any) {
	w := x.(*waiter)
	w.index = len(*h)
	*h = append(*h, w)
}

func (h *waiterHeap) Pop() any {
	old := *h
	n := len(old)
	w := old[n-1]
	old[n-1] = nil // let the GC have it
	w.index = -1
	*h = old[:n-1]
	return w
}
