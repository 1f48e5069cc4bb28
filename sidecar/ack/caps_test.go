package ack_test

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/hasidecar/hasidecar/sidecar/ack"
	"github.com/hasidecar/hasidecar/sidecar/ackclient"
)

// pipeline writes n WAITs for offsets far ahead, ids first..first+n-1, in
// one write.
func (rc *rawConn) pipeline(first uint32, n int, off int64, timeout time.Duration) {
	b := make([]byte, 0, n*21)
	for i := range n {
		b = ack.AppendWait(b, first+uint32(i), off+int64(i), timeout)
	}
	rc.write(b)
}

func openRaw(t *testing.T, path string) *rawConn {
	rc := rawDial(t, path, ack.AppendPreamble(nil, ack.Version, 0))
	rc.c.SetDeadline(time.Now().Add(30 * time.Second))
	if st := rc.preambleStatus(); st != ack.PreambleOK {
		t.Fatalf("preamble status %d", st)
	}
	return rc
}

// Many pipelined WAITs cost heap entries, not goroutines; past the cap an
// ERROR(4) answers; every parked wait is answered when the ack arrives.
func TestPipelinedWaitsNoGoroutineEach(t *testing.T) {
	const conns, each = 4, 5000
	tr := newTracker(t, "any")
	tr.AddSlave("a", "x")
	path := startServer(t, tr, ack.ServerOptions{MaxWaits: conns * each}, nil)
	rcs := make([]*rawConn, conns)
	for i := range rcs {
		rcs[i] = openRaw(t, path)
	}
	base := runtime.NumGoroutine()
	for i, rc := range rcs {
		rc.pipeline(uint32(i*each+1), each, 1<<40, 30*time.Second)
	}
	poll(t, func() bool { return tr.Waiting() == conns*each })
	if g := runtime.NumGoroutine(); g > base+10 {
		t.Fatalf("%d goroutines with %d waits parked, %d before", g, conns*each, base)
	}
	rcs[0].write(ack.AppendWait(nil, 999999, 1<<41, time.Second))
	if r := rcs[0].response(); r.ID != 999999 || r.Err == nil || r.Err.Code != ack.CodeBusy {
		t.Fatalf("wait past --ack-max-waits: %+v", r)
	}
	tr.Ack("a", 1<<42)
	for _, rc := range rcs {
		for range each {
			if r := rc.response(); r.Result.Status != ack.OK || r.Result.Acked != 1<<42 {
				t.Fatalf("parked wait: %+v", r)
			}
		}
	}
	if tr.Waiting() != 0 {
		t.Fatalf("%d waits left", tr.Waiting())
	}
}

// One connection may hold 65536 outstanding waits; the next is ERROR(4)
// and the connection is kept. Closing it abandons its waits at once.
func TestPerConnectionInflightCap(t *testing.T) {
	const limit = 1 << 16
	tr := newTracker(t, "any")
	tr.AddSlave("a", "x")
	path := startServer(t, tr, ack.ServerOptions{MaxWaits: 2 * limit}, nil)
	rc := openRaw(t, path)
	rc.pipeline(1, limit+1, 1<<40, 30*time.Second)
	if r := rc.response(); r.ID != limit+1 || r.Err == nil || r.Err.Code != ack.CodeBusy {
		t.Fatalf("wait %d on one connection: %+v", limit+1, r)
	}
	if tr.Waiting() != limit {
		t.Fatalf("%d waiting, want %d", tr.Waiting(), limit)
	}
	rc.write(ack.AppendWait(nil, 7, 0, 0)) // the connection still serves
	if r := rc.response(); r.ID != 7 || r.Result.Status != ack.OK {
		t.Fatalf("after the cap: %+v", r)
	}
	rc.c.Close()
	poll(t, func() bool { return tr.Waiting() == 0 })
}

// A parked WAIT answers TIMEOUT at its own deadline, with the committed
// offset, in deadline order, without a goroutine of its own.
func TestTimeoutsAnswerOnTime(t *testing.T) {
	tr := newTracker(t, "any")
	tr.AddSlave("a", "x")
	tr.Ack("a", 5)
	rc := openRaw(t, newServerPath(t, tr))
	start := time.Now()
	var b []byte
	for id, ms := range map[uint32]int{1: 300, 2: 100, 3: 200} {
		b = ack.AppendWait(b, id, 1000, time.Duration(ms)*time.Millisecond)
	}
	rc.write(b)
	for i, want := range []uint32{2, 3, 1} {
		r := rc.response()
		took := time.Since(start)
		if r.ID != want || r.Result.Status != ack.Timeout || r.Result.Acked != 5 {
			t.Fatalf("answer %d: %+v, want TIMEOUT for id %d with acked 5", i, r, want)
		}
		if lo := time.Duration(i+1) * 100 * time.Millisecond; took < lo || took > lo+time.Second {
			t.Fatalf("id %d answered after %v, want about %v", want, took, lo)
		}
	}
	if tr.Waiting() != 0 {
		t.Fatalf("%d waits left", tr.Waiting())
	}
}

func newServerPath(t *testing.T, tr *ack.Tracker) string {
	return startServer(t, tr, ack.ServerOptions{}, nil)
}

// Past --ack-max-conns a connection gets the busy preamble (ErrBusy for
// the Go client) and is closed; once one closes, a new one is served.
func TestConnectionCap(t *testing.T) {
	tr := newTracker(t, "any")
	path := startServer(t, tr, ack.ServerOptions{MaxConns: 2}, nil)
	dial(t, path)
	second := dial(t, path)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if c, err := ackclient.Dial(ctx, path); !errors.Is(err, ack.ErrBusy) {
		if c != nil {
			c.Close()
		}
		t.Fatalf("third connection: %v, want ErrBusy", err)
	}
	second.Close()
	poll(t, func() bool {
		c, err := ackclient.Dial(ctx, path)
		if err == nil {
			defer c.Close()
			_, err = c.Query(ctx)
		}
		return err == nil
	})
}
