package tlsconf

import (
	"context"
	"errors"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"
)

func TestParseAllowList(t *testing.T) {
	a, err := ParseAllowList(" 10.0.0.0/8, 192.168.1.5,::1,fd00::/8 ")
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]bool{
		"10.1.2.3:1": true, "11.0.0.1:1": false, "192.168.1.5:9": true,
		"192.168.1.6:9": false, "[::1]:5": true, "[::2]:5": false,
		"[fd12::1]:5": true, "[::ffff:10.9.9.9]:1": true,
	}
	for s, want := range cases {
		addr, err := net.ResolveTCPAddr("tcp", s)
		if err != nil {
			t.Fatal(err)
		}
		if got := a.Allowed(addr); got != want {
			t.Errorf("Allowed(%s) = %v, want %v", s, got, want)
		}
	}
	if a.String() != "10.0.0.0/8,192.168.1.5/32,::1/128,fd00::/8" {
		t.Errorf("String() = %q", a.String())
	}
	if a.Allowed(&net.UnixAddr{Name: "/x", Net: "unix"}) {
		t.Error("a unix peer passed a non-empty list")
	}
}

func TestParseAllowListEmptyAndBad(t *testing.T) {
	for _, s := range []string{"", "  ", ","} {
		a, err := ParseAllowList(s)
		if err != nil || !a.Empty() || !a.Allowed(&net.TCPAddr{IP: net.IPv4(8, 8, 8, 8)}) {
			t.Errorf("ParseAllowList(%q) = %v, %v; want allow-all", s, a, err)
		}
	}
	for _, s := range []string{"10.0.0.0/33", "host.example", "1.2.3", "10.0.0.1/8/2"} {
		if _, err := ParseAllowList(s); !errors.Is(err, ErrBadAllowList) {
			t.Errorf("ParseAllowList(%q) = %v, want ErrBadAllowList", s, err)
		}
	}
	var nilList *AllowList
	if !nilList.Allowed(&net.TCPAddr{IP: net.IPv4(1, 1, 1, 1)}) {
		t.Error("nil list refused")
	}
}

// TestAllowListenerRefuses dials from 127.0.0.2 (refused) and 127.0.0.1
// (served) a listener that allows only 127.0.0.1.
func TestAllowListenerRefuses(t *testing.T) {
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a, _ := ParseAllowList("127.0.0.1")
	var refused atomic.Int64
	ln := AllowListener(zaptest.NewLogger(t), raw, a, func() { refused.Add(1) })
	accepted := make(chan net.Conn, 4)
	done := make(chan error, 1)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				done <- err
				return
			}
			accepted <- c
		}
	}()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()

	bad := dialFrom(ctx, t, "127.0.0.2", ln.Addr().String())
	bad.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := bad.Read(make([]byte, 1)); !errors.Is(err, io.EOF) && !isReset(err) {
		t.Fatalf("refused connection read = %v, want EOF or reset", err)
	}
	bad.Close()
	if refused.Load() != 1 {
		t.Fatalf("onRefuse called %d times, want 1", refused.Load())
	}

	good := dialFrom(ctx, t, "127.0.0.1", ln.Addr().String())
	defer good.Close()
	select {
	case c := <-accepted:
		if got := c.RemoteAddr().String(); got != good.LocalAddr().String() {
			t.Fatalf("accepted %s, want %s", got, good.LocalAddr())
		}
		c.Close()
	case <-ctx.Done():
		t.Fatal("allowed connection not accepted")
	}
	ln.Close()
	if err := <-done; !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Accept after Close = %v, want net.ErrClosed", err)
	}
	if len(accepted) != 0 {
		t.Fatal("a refused connection was handed to the caller")
	}
}

func dialFrom(ctx context.Context, t *testing.T, local, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		t.Fatalf("dial from %s: %v", local, err)
	}
	return c
}

func isReset(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && !op.Timeout()
}

func TestAllowListenerEmptyIsIdentity(t *testing.T) {
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if ln := AllowListener(nil, raw, nil, nil); ln != raw {
		t.Fatal("empty list wrapped the listener")
	}
}
