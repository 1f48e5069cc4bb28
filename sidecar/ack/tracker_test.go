package ack

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/hasidecar/hasidecar/sidecar/sidecartest"
)

func TestParsePolicy(t *testing.T) {
	for _, s := range []string{"any", "all", "quorum=1", "quorum=3"} {
		p, err := ParsePolicy(s)
		if err != nil || p.String() != s {
			t.Errorf("ParsePolicy(%q) = %v, %v", s, p, err)
		}
	}
	for _, s := range []string{"", "some", "quorum=0", "quorum=-1", "quorum=x", "quorum=100000"} {
		if _, err := ParsePolicy(s); !errors.Is(err, ErrBadPolicy) {
			t.Errorf("ParsePolicy(%q) error = %v, want ErrBadPolicy", s, err)
		}
	}
}

func newTestTracker(t *testing.T, policy string, fallbehind int64) *Tracker {
	t.Helper()
	p, err := ParsePolicy(policy)
	if err != nil {
		t.Fatal(err)
	}
	return NewTracker(zaptest.NewLogger(t), p, fallbehind)
}

func TestCommittedPerPolicy(t *testing.T) {
	cases := []struct {
		policy string
		want   int64
	}{{"any", 300}, {"all", 100}, {"quorum=1", 300}, {"quorum=2", 200}, {"quorum=3", 100}, {"quorum=4", -1}}
	for _, c := range cases {
		tr := newTestTracker(t, c.policy, 0)
		for i, off := range []int64{100, 300, 200} {
			id := string(rune('a' + i))
			tr.AddSlave(id, "127.0.0.1:1")
			tr.Ack(id, off)
		}
		if got := tr.Snapshot().Committed; got != c.want {
			t.Errorf("%s: committed %d, want %d", c.policy, got, c.want)
		}
	}
}

func TestAckDecreaseIgnored(t *testing.T) {
	tr := newTestTracker(t, "any", 0)
	tr.AddSlave("a", "x")
	tr.Ack("a", 500)
	tr.Ack("a", 100)
	tr.Ack("nobody", 900)
	if got := tr.Snapshot().Committed; got != 500 {
		t.Fatalf("committed %d, want 500", got)
	}
}

func TestNotAvailable(t *testing.T) {
	tr := newTestTracker(t, "quorum=2", 1000)
	ctx := t.Context()
	if r := tr.Wait(ctx, 10); r.Status != NotAvailable || !strings.Contains(r.Reason, "needs 2") {
		t.Fatalf("no slaves: %+v", r)
	}
	tr.AddSlave("a", "x")
	tr.AddSlave("b", "y")
	tr.Ack("a", 100)
	tr.Ack("b", 100)
	tr.SetMasterEnd(5000)
	if r := tr.Wait(ctx, 200); r.Status != NotAvailable || !strings.Contains(r.Reason, "fallbehind") {
		t.Fatalf("far behind: %+v", r)
	}
	// Already committed offsets are OK even when the slaves are behind.
	if r := tr.Wait(ctx, 100); r.Status != OK || r.Acked != 100 {
		t.Fatalf("committed: %+v", r)
	}
	tr.SetFallbehindMax(0) // off
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if r := tr.Wait(short, 200); r.Status != Timeout || r.Acked != 100 {
		t.Fatalf("fallbehind off: %+v", r)
	}
}

// startWaits starts one Wait per offset and returns their results channel.
func startWaits(ctx context.Context, tr *Tracker, offs []int64) (<-chan [2]int64, *sync.WaitGroup) {
	ch := make(chan [2]int64, len(offs))
	var wg sync.WaitGroup
	for _, off := range offs {
		wg.Go(func() {
			r := tr.Wait(ctx, off)
			ch <- [2]int64{off, int64(r.Status)}
		})
	}
	return ch, &wg
}

func TestWakeInOrder(t *testing.T) {
	tr := newTestTracker(t, "any", 0)
	tr.AddSlave("a", "x")
	ch, wg := startWaits(t.Context(), tr, []int64{300, 100, 200, 400})
	sidecartest.Eventually(t, 5*time.Second, "the condition", func() bool { return tr.Waiting() == 4 })
	tr.Ack("a", 250)
	sidecartest.Eventually(t, 5*time.Second, "the condition", func() bool { return tr.Waiting() == 2 })
	got := map[int64]bool{}
	for range 2 {
		r := <-ch
		if Status(r[1]) != OK {
			t.Fatalf("result %v", r)
		}
		got[r[0]] = true
	}
	if !got[100] || !got[200] {
		t.Fatalf("woken %v, want 100 and 200", got)
	}
	tr.Ack("a", 1000)
	wg.Wait()
	if tr.Waiting() != 0 {
		t.Fatalf("%d waiters left", tr.Waiting())
	}
}

func TestDisconnectKeepsWaitersUntilDeadline(t *testing.T) {
	tr := newTestTracker(t, "any", 0)
	tr.AddSlave("a", "x")
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	ch, wg := startWaits(ctx, tr, []int64{100})
	sidecartest.Eventually(t, 5*time.Second, "the condition", func() bool { return tr.Waiting() == 1 })
	tr.RemoveSlave("a")
	if r := tr.Wait(ctx, 50); r.Status != NotAvailable {
		t.Fatalf("new wait after disconnect: %+v", r)
	}
	tr.AddSlave("a2", "x") // the slave returns on a new connection
	tr.Ack("a2", 100)
	wg.Wait()
	if r := <-ch; Status(r[1]) != OK {
		t.Fatalf("outstanding waiter after return: %v", r)
	}
}

func TestDeadlineBounded(t *testing.T) {
	tr := newTestTracker(t, "all", 0)
	tr.AddSlave("a", "x")
	start := time.Now()
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	r := tr.Wait(ctx, 10)
	if r.Status != Timeout || time.Since(start) > time.Second {
		t.Fatalf("%+v after %v", r, time.Since(start))
	}
	if tr.Waiting() != 0 {
		t.Fatal("timed-out waiter left in the heap")
	}
}

func TestTenThousandWaiters(t *testing.T) {
	tr := newTestTracker(t, "any", 0)
	tr.AddSlave("a", "x")
	offs := make([]int64, 10000)
	for i := range offs {
		offs[i] = int64(len(offs) - i)
	}
	ch, wg := startWaits(t.Context(), tr, offs)
	sidecartest.Eventually(t, 5*time.Second, "the condition", func() bool { return tr.Waiting() == len(offs) })
	for off := int64(1000); off <= 10000; off += 1000 {
		tr.Ack("a", off)
		if got, want := tr.Waiting(), 10000-int(off); got != want {
			t.Fatalf("after ack %d: %d waiting, want %d", off, got, want)
		}
	}
	wg.Wait()
	for range offs {
		if r := <-ch; Status(r[1]) != OK {
			t.Fatalf("result %v", r)
		}
	}
}

// A closing connection takes its waits back at once, and the emptied heaps
// give their arrays back: memory does not stay at the burst's peak.
func TestCancelOwnerReleasesMemory(t *testing.T) {
	tr := newTestTracker(t, "any", 0)
	tr.AddSlave("a", "x")
	answers := 0
	own := &waitOwner{answer: func(*waiter, Result) { answers++ }}
	other := &waitOwner{answer: func(*waiter, Result) { answers++ }}
	for i := range 10000 {
		tr.submit(&waiter{off: 1000 + int64(i), deadline: tr.clock() + int64(time.Hour), owner: own}, 0, 0)
	}
	tr.submit(&waiter{off: 5000, deadline: tr.clock() + int64(time.Hour), owner: other}, 0, 0)
	tr.cancelOwner(own)
	if answers != 0 || tr.Waiting() != 1 || own.n != 0 || own.head != nil {
		t.Fatalf("after cancel: %d answers, %d waiting, owner %d", answers, tr.Waiting(), own.n)
	}
	tr.Ack("a", 5000)
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if answers != 1 || cap(tr.waiters) != 0 || cap(tr.deadlines) != 0 || tr.timerAt != 0 {
		t.Fatalf("after the last answer: %d answers, heap caps %d/%d, timer at %d",
			answers, cap(tr.waiters), cap(tr.deadlines), tr.timerAt)
	}
}

// Submit's caps: the tracker-wide one and the owner's.
func TestSubmitCaps(t *testing.T) {
	tr := newTestTracker(t, "any", 0)
	tr.AddSlave("a", "x")
	a := &waitOwner{answer: func(*waiter, Result) {}}
	b := &waitOwner{answer: func(*waiter, Result) {}}
	w := func(o *waitOwner) *waiter { return &waiter{off: 10, deadline: noDeadline, owner: o} }
	for _, c := range []struct {
		o    *waitOwner
		want submitted
	}{{a, parked}, {a, parked}, {a, fullOwner}, {b, parked}, {b, fullTotal}} {
		if _, got := tr.submit(w(c.o), 3, 2); got != c.want {
			t.Fatalf("submit: %d, want %d", got, c.want)
		}
	}
	if r, got := tr.submit(&waiter{off: 0, owner: b}, 3, 2); got != answered || r.Status != OK {
		t.Fatalf("committed offset past the caps: %v %+v", got, r)
	}
}
