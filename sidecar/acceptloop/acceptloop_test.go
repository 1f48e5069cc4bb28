package acceptloop

import (
	"context"
	"errors"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

// failing is a real TCP listener whose first Accept calls fail with errno,
// the way the net package reports it.
type failing struct {
	net.Listener
	errno syscall.Errno
	left  int
	calls []time.Time
}

func (f *failing) Accept() (net.Conn, error) {
	f.calls = append(f.calls, time.Now())
	if f.left > 0 {
		f.left--
		return nil, &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", f.errno)}
	}
	return f.Listener.Accept()
}

func listen(t *testing.T, errno syscall.Errno, fails int) *failing {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return &failing{Listener: ln, errno: errno, left: fails}
}

func TestAcceptSurvivesTemporaryErrors(t *testing.T) {
	for _, errno := range []syscall.Errno{syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM, syscall.ECONNABORTED} {
		core, logs := observer.New(zap.InfoLevel)
		f := listen(t, errno, 6)
		a := New(zap.New(core), f, "test port")
		a.Min, a.Max, a.LogEvery = time.Millisecond, 4*time.Millisecond, time.Hour
		c, err := net.Dial("tcp", f.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		got, err := a.Accept(ctx)
		cancel()
		if err != nil {
			t.Fatalf("%v: Accept: %v", errno, err)
		}
		got.Close()
		// Back-off 1, 2, 4, 4, 4, 4 ms between the seven calls: capped, growing.
		if len(f.calls) != 7 || f.calls[6].Sub(f.calls[0]) < 19*time.Millisecond {
			t.Errorf("%v: %d calls over %v", errno, len(f.calls), f.calls[len(f.calls)-1].Sub(f.calls[0]))
		}
		// One line for the run of failures (rate limited), one for the recovery.
		if n := logs.Len(); n != 2 || logs.All()[1].Message != "accept recovered" {
			t.Errorf("%v: %d log lines: %v", errno, n, logs.All())
		}
		if errno == syscall.EMFILE && logs.All()[0].ContextMap()["exhausted"] == nil {
			t.Errorf("EMFILE line does not say what is exhausted: %v", logs.All()[0])
		}
	}
}

func TestAcceptReturnsOtherErrors(t *testing.T) {
	f := listen(t, syscall.EINVAL, 1)
	a := New(nil, f, "test port")
	if _, err := a.Accept(t.Context()); !errors.Is(err, syscall.EINVAL) {
		t.Fatalf("EINVAL: %v", err)
	}
	f.Close()
	if _, err := a.Accept(t.Context()); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("closed listener: %v", err)
	}
}

func TestAcceptStopsWithContext(t *testing.T) {
	f := listen(t, syscall.EMFILE, 1<<30)
	a := New(nil, f, "test port")
	a.Min = time.Hour
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(20*time.Millisecond, cancel)
	start := time.Now()
	if _, err := a.Accept(ctx); !errors.Is(err, syscall.EMFILE) || time.Since(start) > 5*time.Second {
		t.Fatalf("Accept after cancel: %v after %v", err, time.Since(start))
	}
}
