package faultproxy

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/hasidecar/hasidecar/sidecar/sidecartest"
)

// echoServer is a real TCP target on 127.0.0.1 that echoes what it reads.
func echoServer(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Go(func() { io.Copy(c, c); c.Close() })
		}
	})
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

func newProxy(t *testing.T) (*Proxy, string) {
	target := echoServer(t)
	p, err := New(zaptest.NewLogger(t), target)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p, target
}

func dial(t *testing.T, p *Proxy) net.Conn {
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func randBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// roundTrip writes b and reads the echo back within d.
func roundTrip(t *testing.T, c net.Conn, b []byte, d time.Duration) {
	t.Helper()
	c.SetDeadline(time.Now().Add(d))
	defer c.SetDeadline(time.Time{})
	errc := make(chan error, 1)
	go func() { _, err := c.Write(b); errc <- err }()
	got := make([]byte, len(b))
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatalf("read echo: %v", err)
	}
	if err := <-errc; err != nil {
		t.Fatalf("write: %v", err)
	}
	if !bytes.Equal(got, b) {
		t.Fatal("echo differs")
	}
}

func TestForwardsAndCounts(t *testing.T) {
	p, _ := newProxy(t)
	c := dial(t, p)
	b := randBytes(1 << 20)
	roundTrip(t, c, b, 5*time.Second)
	sidecartest.Eventually(t, 5*time.Second, "counters", func() bool {
		s := p.Stats()
		return s.BytesUp == 1<<20 && s.BytesDown == 1<<20 && s.Active == 1 && s.Conns == 1
	})
}

func TestDelay(t *testing.T) {
	p, _ := newProxy(t)
	c := dial(t, p)
	p.SetDelay(100 * time.Millisecond)
	t0 := time.Now()
	roundTrip(t, c, []byte("x"), 5*time.Second)
	if d := time.Since(t0); d < 200*time.Millisecond { // one delay each way
		t.Fatalf("round trip took %v with a 100ms delay per chunk", d)
	}
	p.SetDelay(0)
	roundTrip(t, c, []byte("y"), 5*time.Second)
}

// TestStallKeepsConnection: while stalled nothing arrives but the
// connection stays open; on Resume the held bytes arrive intact.
func TestStallKeepsConnection(t *testing.T) {
	p, _ := newProxy(t)
	c := dial(t, p)
	roundTrip(t, c, []byte("warm"), 5*time.Second)
	p.Stall()
	b := randBytes(100 << 10)
	go c.Write(b)
	c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	var one [1]byte
	n, err := c.Read(one[:])
	var ne net.Error
	if n != 0 || !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("read during a stall: n=%d err=%v, want a timeout", n, err)
	}
	if s := p.Stats(); s.Active != 1 || s.Cuts != 0 {
		t.Fatalf("stall changed connections: %+v", s)
	}
	p.Resume()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	got := make([]byte, len(b))
	if _, err := io.ReadFull(c, got); err != nil || !bytes.Equal(got, b) {
		t.Fatalf("after resume: %v", err)
	}
}

func TestCutAll(t *testing.T) {
	p, _ := newProxy(t)
	c1, c2 := dial(t, p), dial(t, p)
	roundTrip(t, c1, []byte("a"), 5*time.Second)
	roundTrip(t, c2, []byte("b"), 5*time.Second)
	if n := p.CutAll(); n != 2 {
		t.Fatalf("CutAll closed %d connections, want 2", n)
	}
	for _, c := range []net.Conn{c1, c2} {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, err := c.Read(make([]byte, 1))
		if err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("read on a cut connection: %v, want EOF or reset", err)
		}
	}
	sidecartest.Eventually(t, 5*time.Second, "no active connections", func() bool { return p.Stats().Active == 0 })
	if s := p.Stats(); s.Cuts != 2 {
		t.Fatalf("cuts %d, want 2", s.Cuts)
	}
	roundTrip(t, dial(t, p), []byte("after"), 5*time.Second) // new connections still work
}

// TestCutAfterMidStream: exactly n bytes come through, then EOF.
func TestCutAfterMidStream(t *testing.T) {
	p, _ := newProxy(t)
	c := dial(t, p)
	roundTrip(t, c, []byte("warm"), 5*time.Second)
	p.CutAfter(Down, 12345)
	b := randBytes(100 << 10)
	go c.Write(b)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("read until the cut: %v", err)
	}
	if len(got) != 12345 || !bytes.Equal(got, b[:12345]) {
		t.Fatalf("got %d bytes before the cut, want the first 12345", len(got))
	}
	if s := p.Stats(); s.Cuts != 1 {
		t.Fatalf("cuts %d, want 1", s.Cuts)
	}
	roundTrip(t, dial(t, p), []byte("after"), 5*time.Second) // one-shot
}

func TestThrottle(t *testing.T) {
	p, _ := newProxy(t)
	c := dial(t, p)
	p.Throttle(2 << 20) // shared by both directions: 512 KiB each way = 1 MiB = ~0.5 s
	t0 := time.Now()
	roundTrip(t, c, randBytes(512<<10), 10*time.Second)
	if d := time.Since(t0); d < 400*time.Millisecond {
		t.Fatalf("1 MiB through a 2 MiB/s throttle took %v", d)
	}
	p.Throttle(0)
	t0 = time.Now()
	roundTrip(t, c, randBytes(512<<10), 10*time.Second)
	if d := time.Since(t0); d > 2*time.Second {
		t.Fatalf("unthrottled round trip took %v", d)
	}
}

func TestRefuse(t *testing.T) {
	p, _ := newProxy(t)
	p.Refuse(true)
	c := dial(t, p)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatal("refused connection delivered data")
	}
	p.Refuse(false)
	roundTrip(t, dial(t, p), []byte("ok"), 5*time.Second)
}

// TestCloseWaits: Close returns only after every goroutine of the proxy,
// including pumps blocked in a stall, has ended.
func TestCloseWaits(t *testing.T) {
	target := echoServer(t)
	p, err := New(nil, target)
	if err != nil {
		t.Fatal(err)
	}
	c := dial(t, p)
	roundTrip(t, c, []byte("x"), 5*time.Second)
	p.Stall()
	go c.Write([]byte("held"))
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	// Close has returned: no goroutine may still run the proxy's code.
	buf := make([]byte, 1<<20)
	if stacks := buf[:runtime.Stack(buf, true)]; bytes.Contains(stacks, []byte("faultproxy.(*")) {
		t.Fatalf("a proxy goroutine outlived Close:\n%s", stacks)
	}
	c.Close()
}
