package sdnotify

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"
)

// fakeSystemd is a unixgram socket standing in for systemd's notify socket;
// it sets NOTIFY_SOCKET for the test.
type fakeSystemd struct {
	t    *testing.T
	conn *net.UnixConn
}

func newFakeSystemd(t *testing.T) *fakeSystemd {
	path := filepath.Join(t.TempDir(), "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	t.Setenv("NOTIFY_SOCKET", path)
	return &fakeSystemd{t: t, conn: conn}
}

// next returns the next datagram, failing the test after wait.
func (f *fakeSystemd) next(wait time.Duration) string {
	f.t.Helper()
	msg, err := f.read(wait)
	if err != nil {
		f.t.Fatalf("no notification within %v: %v", wait, err)
	}
	return msg
}

func (f *fakeSystemd) read(wait time.Duration) (string, error) {
	buf := make([]byte, 4096)
	f.conn.SetReadDeadline(time.Now().Add(wait))
	n, err := f.conn.Read(buf)
	return string(buf[:n]), err
}

// until reads datagrams until one equals want, within the deadline.
func (f *fakeSystemd) until(want string, wait time.Duration) {
	f.t.Helper()
	deadline := time.Now().Add(wait)
	for {
		msg, err := f.read(time.Until(deadline))
		if err != nil {
			f.t.Fatalf("no %q within %v: %v", want, wait, err)
		}
		if msg == want {
			return
		}
	}
}

func TestLifecycleMessages(t *testing.T) {
	sd := newFakeSystemd(t)
	log := zaptest.NewLogger(t)
	Ready(log)
	if got := sd.next(5 * time.Second); got != "READY=1" {
		t.Fatalf("got %q, want READY=1", got)
	}
	Status(log, "serving 2 slaves\nend=42")
	if got := sd.next(5 * time.Second); got != "STATUS=serving 2 slaves end=42" {
		t.Fatalf("got %q", got)
	}
	Reloading(log)
	got := sd.next(5 * time.Second)
	lines := strings.Split(got, "\n")
	if len(lines) != 2 || lines[0] != "RELOADING=1" || !strings.HasPrefix(lines[1], "MONOTONIC_USEC=") {
		t.Fatalf("got %q, want RELOADING=1 and MONOTONIC_USEC", got)
	}
	if _, err := strconv.ParseUint(strings.TrimPrefix(lines[1], "MONOTONIC_USEC="), 10, 64); err != nil {
		t.Fatalf("MONOTONIC_USEC: %v", err)
	}
	Stopping(log)
	if got := sd.next(5 * time.Second); got != "STOPPING=1" {
		t.Fatalf("got %q, want STOPPING=1", got)
	}
}

func TestNoSocketIsNoop(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	os.Unsetenv("NOTIFY_SOCKET")
	t.Setenv("WATCHDOG_USEC", "")
	os.Unsetenv("WATCHDOG_USEC")
	log := zaptest.NewLogger(t)
	Ready(log)
	Status(log, "x")
	Stopping(log)
	w := NewWatchdog(log, nil)
	if w.Enabled() {
		t.Fatal("watchdog enabled without WATCHDOG_USEC")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := w.Run(ctx); err != nil || ctx.Err() != nil {
		t.Fatalf("disabled Run = %v, ctx %v; want immediate nil", err, ctx.Err())
	}
}

func TestSendFailureIsLoggedNotFatal(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", filepath.Join(t.TempDir(), "missing.sock"))
	if send(zaptest.NewLogger(t), "READY=1") {
		t.Fatal("send to a missing socket reported success")
	}
}

func TestWatchdogPingsWhileHealthy(t *testing.T) {
	sd := newFakeSystemd(t)
	t.Setenv("WATCHDOG_USEC", "100000") // 100 ms: pings every 50 ms
	t.Setenv("WATCHDOG_PID", strconv.Itoa(os.Getpid()))
	var sick atomic.Bool
	w := NewWatchdog(zaptest.NewLogger(t), func() error {
		if sick.Load() {
			return errors.New("tailer stuck")
		}
		return nil
	})
	if w.Interval != 50*time.Millisecond {
		t.Fatalf("interval %v, want 50ms", w.Interval)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	stopped := false
	defer func() { // on an early t.Fatal: stop the loop and wait for it
		if !stopped {
			cancel()
			<-done
		}
	}()

	for range 3 {
		if got := sd.next(5 * time.Second); got != "WATCHDOG=1" {
			t.Fatalf("got %q, want WATCHDOG=1", got)
		}
	}
	sick.Store(true)
	sd.until("STATUS=unhealthy: tailer stuck", 5*time.Second)
	// While sick no ping may arrive: wait several intervals for one.
	if msg, err := sd.read(4 * w.Interval); err == nil {
		t.Fatalf("got %q while unhealthy, want silence", msg)
	}
	sick.Store(false)
	if got := sd.next(5 * time.Second); got != "STATUS=healthy" {
		t.Fatalf("got %q, want STATUS=healthy", got)
	}
	if got := sd.next(5 * time.Second); got != "WATCHDOG=1" {
		t.Fatalf("got %q, want WATCHDOG=1", got)
	}
	cancel()
	stopped = true
	if err := <-done; err != nil {
		t.Fatalf("Run = %v", err)
	}
}

func TestWatchdogOtherPID(t *testing.T) {
	t.Setenv("WATCHDOG_USEC", "100000")
	t.Setenv("WATCHDOG_PID", strconv.Itoa(os.Getpid()+1))
	if NewWatchdog(nil, nil).Enabled() {
		t.Fatal("watchdog meant for another process enabled")
	}
}
