package ack_test

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/hasidecar/hasidecar/sidecar/ack"
	"github.com/hasidecar/hasidecar/sidecar/ackclient"
)

type hints struct{ max atomic.Int64 }

func (h *hints) Hint(off int64) {
	for {
		cur := h.max.Load()
		if off <= cur || h.max.CompareAndSwap(cur, off) {
			return
		}
	}
}

// startServer runs a server on a socket in t.TempDir and stops it (and
// checks Run's error) at cleanup.
func startServer(t *testing.T, tr *ack.Tracker, opts ack.ServerOptions, h ack.Hinter) string {
	t.Helper()
	if opts.Path == "" {
		opts.Path = filepath.Join(t.TempDir(), "ack.sock")
	}
	srv := ack.NewServer(zaptest.NewLogger(t), opts, tr, h)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-errc; err != nil {
			t.Errorf("Run: %v", err)
		}
		if _, err := os.Lstat(opts.Path); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("socket file left after shutdown: %v", err)
		}
	})
	// Wait for the socket file to get its mode, which the server sets after
	// listen(2), not for a probe connection: a probe the server has not yet
	// seen closed would count against MaxConns.
	want := opts.Mode
	if want == 0 {
		want = 0o660
	}
	poll(t, func() bool {
		fi, err := os.Lstat(opts.Path)
		return err == nil && fi.Mode()&os.ModeSocket != 0 && fi.Mode().Perm() == want
	})
	return opts.Path
}

func poll(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(time.Millisecond)
	}
}

func newTracker(t *testing.T, policy string) *ack.Tracker {
	p, err := ack.ParsePolicy(policy)
	if err != nil {
		t.Fatal(err)
	}
	return ack.NewTracker(zaptest.NewLogger(t), p, 0)
}

func dial(t *testing.T, path string) *ackclient.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	c, err := ackclient.Dial(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestPipelinedWaitsOneConnection(t *testing.T) {
	tr := newTracker(t, "any")
	tr.AddSlave("s1", "10.0.0.1:1")
	h := &hints{}
	c := dial(t, startServer(t, tr, ack.ServerOptions{}, h))
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	const n = 500
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 1; i <= n; i++ {
		wg.Go(func() {
			r, err := c.Wait(ctx, int64(i))
			if err == nil && (r.Status != ack.OK || r.Acked < int64(i)) {
				err = errors.New("bad result " + r.Status.String())
			}
			errs <- err
		})
	}
	poll(t, func() bool { return tr.Waiting() == n })
	if got := h.max.Load(); got != n {
		t.Errorf("hint %d, want %d", got, n)
	}
	for off := int64(50); off <= n; off += 50 {
		tr.Ack("s1", off)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestManyConnections(t *testing.T) {
	tr := newTracker(t, "quorum=2")
	tr.AddSlave("a", "x")
	tr.AddSlave("b", "y")
	path := startServer(t, tr, ack.ServerOptions{}, nil)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	var oks atomic.Int64
	for i := range 20 {
		c := dial(t, path)
		wg.Go(func() {
			if r, err := c.Wait(ctx, int64(100+i)); err == nil && r.Status == ack.OK {
				oks.Add(1)
			}
		})
	}
	poll(t, func() bool { return tr.Waiting() == 20 })
	tr.Ack("a", 200)
	if tr.Waiting() != 20 {
		t.Fatal("quorum=2 satisfied by one slave")
	}
	tr.Ack("b", 150)
	wg.Wait()
	if oks.Load() != 20 {
		t.Fatalf("%d OK of 20", oks.Load())
	}
}

func TestTimeoutClampAndNotAvailable(t *testing.T) {
	tr := newTracker(t, "all")
	path := startServer(t, tr, ack.ServerOptions{MaxTimeout: 50 * time.Millisecond}, nil)
	c := dial(t, path)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	r, err := c.Wait(ctx, 10)
	if err != nil || r.Status != ack.NotAvailable || r.Reason == "" {
		t.Fatalf("no slave: %+v %v", r, err)
	}
	tr.AddSlave("a", "x")
	start := time.Now()
	r, err = c.Wait(ctx, 10)
	if err != nil || r.Status != ack.Timeout || time.Since(start) > 5*time.Second {
		t.Fatalf("clamped: %+v %v after %v", r, err, time.Since(start))
	}
	short, cancel2 := context.WithTimeout(t.Context(), 30*time.Millisecond)
	defer cancel2()
	if r, err := c.Wait(short, 10); err != nil || r.Status != ack.Timeout {
		t.Fatalf("short deadline: %+v %v", r, err)
	}
}

func TestQuery(t *testing.T) {
	tr := newTracker(t, "quorum=2")
	tr.AddSlave("b", "10.0.0.2:5")
	tr.AddSlave("a", "10.0.0.1:5")
	tr.Sent("a", 900)
	tr.Ack("a", 800)
	tr.Ack("b", 700)
	tr.SetMasterEnd(1000)
	c := dial(t, startServer(t, tr, ack.ServerOptions{}, nil))
	s, err := c.Query(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if s.MasterEnd != 1000 || s.Committed != 700 || s.Policy.String() != "quorum=2" || len(s.Slaves) != 2 {
		t.Fatalf("snapshot %+v", s)
	}
	a := s.Slaves[0]
	if a.ID != "a" || a.Addr != "10.0.0.1:5" || a.Sent != 900 || a.Acked != 800 || time.Since(a.ConnectedAt) > time.Minute {
		t.Fatalf("slave %+v", a)
	}
}

func TestClientCloseAbandonsWaits(t *testing.T) {
	tr := newTracker(t, "any")
	tr.AddSlave("a", "x")
	path := startServer(t, tr, ack.ServerOptions{}, nil)
	c, err := ackclient.Dial(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		defer cancel()
		_, err := c.Wait(ctx, 100)
		done <- err
	}()
	poll(t, func() bool { return tr.Waiting() == 1 })
	c.Close()
	if err := <-done; !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Wait after Close: %v", err)
	}
	poll(t, func() bool { return tr.Waiting() == 0 })
}

// rawConn is a hand-driven client for malformed input.
type rawConn struct {
	t *testing.T
	c net.Conn
	r *bufio.Reader
}

func rawDial(t *testing.T, path string, preamble []byte) *rawConn {
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(5 * time.Second))
	rc := &rawConn{t: t, c: c, r: bufio.NewReader(c)}
	rc.write(preamble)
	return rc
}

func (rc *rawConn) write(b []byte) {
	if _, err := rc.c.Write(b); err != nil {
		rc.t.Fatal(err)
	}
}

func (rc *rawConn) preambleStatus() uint16 {
	var p [8]byte
	if _, err := io.ReadFull(rc.r, p[:]); err != nil {
		rc.t.Fatal(err)
	}
	_, st, err := ack.ParsePreamble(p[:])
	if err != nil {
		rc.t.Fatal(err)
	}
	return st
}

func (rc *rawConn) response() ack.Response {
	body, err := ack.ReadFrame(rc.r, nil, ack.MaxResponse)
	if err != nil {
		rc.t.Fatal(err)
	}
	resp, err := ack.DecodeResponse(body)
	if err != nil {
		rc.t.Fatal(err)
	}
	return resp
}

func (rc *rawConn) closed() bool {
	_, err := rc.r.ReadByte()
	return err != nil
}

func TestBadClientsDoNotDisturbOthers(t *testing.T) {
	tr := newTracker(t, "any")
	tr.AddSlave("a", "x")
	tr.Ack("a", 500)
	path := startServer(t, tr, ack.ServerOptions{}, nil)
	good := dial(t, path)
	ok := func() {
		t.Helper()
		if r, err := good.Wait(t.Context(), 400); err != nil || r.Status != ack.OK {
			t.Fatalf("good client: %+v %v", r, err)
		}
	}
	garbage := rawDial(t, path, []byte("GET / HTTP/1.1\r\n"))
	if st := garbage.preambleStatus(); st != ack.PreambleBadMagic || !garbage.closed() {
		t.Fatalf("garbage preamble: status %d", st)
	}
	ok()
	v2 := rawDial(t, path, ack.AppendPreamble(nil, 2, 0))
	if st := v2.preambleStatus(); st != ack.PreambleBadVersion || !v2.closed() {
		t.Fatalf("version 2: status %d", st)
	}
	rc := rawDial(t, path, ack.AppendPreamble(nil, ack.Version, 0))
	if st := rc.preambleStatus(); st != ack.PreambleOK {
		t.Fatalf("good preamble: status %d", st)
	}
	rc.write(ack.AppendWait(nil, 3, -5, time.Second))
	if r := rc.response(); r.ID != 3 || r.Err == nil || r.Err.Code != ack.CodeBadRequest {
		t.Fatalf("negative offset: %+v", r)
	}
	rc.write(ack.AppendWritten(nil, 4, ack.MaxOffset+1))
	if r := rc.response(); r.ID != 4 || r.Err == nil || r.Err.Code != ack.CodeBadRequest {
		t.Fatalf("absurd offset: %+v", r)
	}
	rc.write([]byte{0, 0, 0, 6, 0x42, 0, 0, 0, 5, 9})
	if r := rc.response(); r.ID != 5 || r.Err == nil || r.Err.Code != ack.CodeUnknownType {
		t.Fatalf("unknown type: %+v", r)
	}
	rc.write(ack.AppendWait(nil, 6, 100, 0)) // still usable
	if r := rc.response(); r.ID != 6 || r.Result.Status != ack.OK {
		t.Fatalf("after errors: %+v", r)
	}
	ok()
	rc.write(binary.BigEndian.AppendUint32(nil, 1<<30))
	if r := rc.response(); r.Err == nil || r.Err.Code != ack.CodeFrame || !rc.closed() {
		t.Fatalf("oversize frame: %+v", r)
	}
	ok()
}

// A WAIT for an acknowledged offset is answered without a hint (the bytes
// are published already; the hint's wake-up of the tailer would only go
// out ahead of the answer); a WAIT that parks hints its offset.
func TestCommittedWaitDoesNotHint(t *testing.T) {
	tr := newTracker(t, "any")
	tr.AddSlave("s1", "10.0.0.1:1")
	tr.Ack("s1", 100)
	h := &hints{}
	c := dial(t, startServer(t, tr, ack.ServerOptions{}, h))
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if r, err := c.Wait(ctx, 50); err != nil || r.Status != ack.OK {
		t.Fatalf("WAIT 50: %v %v", r, err)
	}
	if got := h.max.Load(); got != 0 {
		t.Fatalf("a committed WAIT hinted %d", got)
	}
	done := make(chan error, 1)
	go func() { _, err := c.Wait(ctx, 200); done <- err }()
	poll(t, func() bool { return h.max.Load() == 200 })
	tr.Ack("s1", 200)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
