package sidecar

import "sync"

// knownEnds remembers the positions where earlier slave connections stopped
// (sent and acknowledged). A classic slave that lost its connection in the
// middle of a record reconnects at such a position; the master can vouch for
// it even though it is not a record boundary. Bounded: oldest entries go.
type knownEnds struct {
	mu    sync.Mutex
	max   int
	order []int64
	set   map[int64]struct{}
}

func newKnownEnds(max int) *knownEnds {
	return &knownEnds{max: max, set: map[int64]struct{}{}}
}

func (k *knownEnds) add(off int64) {
	if off <= 0 {
		return
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if _, ok := k.set[off]; ok {
		return
	}
	k.set[off] = struct{}{}
	k.order = append(k.order, off)
	if len(k.order) > k.max {
		delete(k.set, k.order[0])
		k.order = k.order[1:]
	}
}

func (k *knownEnds) has(off int64) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	_, ok := k.set[off]
	return ok
}

// dropAbove forgets every position above off (reached with bytes that were
// rewritten since).
func (k *knownEnds) dropAbove(off int64) {
	k.mu.Lock()
	defer k.mu.Unlock()
	kept := k.order[:0]
	for _, o := range k.order {
		if o > off {
			delete(k.set, o)
			continue
		}
		kept = append(kept, o)
	}
	k.order = kept
}
