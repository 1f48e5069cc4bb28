package ack

import (
	"container/heap"
	"testing"

	"go.uber.org/zap"
)

// benchTracker returns a tracker with one slave and n waiters parked far
// beyond any ack the benchmark makes, pushed straight into the heap so the
// benchmark measures the tracker, not goroutine scheduling.
func benchTracker(n int) *Tracker {
	tr := NewTracker(zap.NewNop(), Policy{Kind: Any}, 0)
	tr.AddSlave("a", "x")
	tr.mu.Lock()
	for i := range n {
		heap.Push(&tr.waiters, &waiter{off: 1<<50 + int64(i), done: make(chan Result, 1)})
	}
	tr.mu.Unlock()
	return tr
}

// BenchmarkTrackerAck: the cost of one acknowledgement with 10,000 waiters
// outstanding, when it satisfies none of them and when it satisfies one.
func BenchmarkTrackerAck(b *testing.B) {
	b.Run("10k_waiters_satisfy_none", func(b *testing.B) {
		tr := benchTracker(10000)
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			tr.Ack("a", int64(i+1))
		}
	})
	b.Run("10k_waiters_satisfy_one", func(b *testing.B) {
		tr := benchTracker(10000)
		w := &waiter{done: make(chan Result, 1)}
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			tr.mu.Lock()
			w.off = int64(i + 1)
			heap.Push(&tr.waiters, w)
			tr.mu.Unlock()
			tr.Ack("a", int64(i+1))
			<-w.done
		}
	})
	b.Run("3_slaves_quorum2_10k_waiters", func(b *testing.B) {
		tr := benchTracker(10000)
		tr.SetPolicy(Policy{Kind: Quorum, N: 2})
		tr.AddSlave("b", "y")
		tr.AddSlave("c", "z")
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			tr.Ack(string(rune('a'+i%3)), int64(i+1))
		}
	})
}
