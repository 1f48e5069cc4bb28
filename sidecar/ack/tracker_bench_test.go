package ack

import (
	"testing"

	"go.uber.org/zap"
)

// benchTracker returns a tracker with one slave and n waiters parked far
// beyond any ack the benchmark makes, submitted straight to the tracker so
// the benchmark measures the tracker, not a socket.
func benchTracker(n int) *Tracker {
	tr := NewTracker(zap.NewNop(), Policy{Kind: Any}, 0)
	tr.AddSlave("a", "x")
	own := &waitOwner{answer: func(*waiter, Result) {}}
	for i := range n {
		tr.submit(&waiter{off: 1<<50 + int64(i), deadline: noDeadline, owner: own}, 0, 0)
	}
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
		got := 0
		own := &waitOwner{answer: func(*waiter, Result) { got++ }}
		w := &waiter{deadline: noDeadline, owner: own}
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			w.off = int64(i + 1)
			tr.submit(w, 0, 0)
			tr.Ack("a", int64(i+1))
		}
		if got != b.N {
			b.Fatalf("%d answers for %d waits", got, b.N)
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
