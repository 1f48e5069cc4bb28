package sidecar

import (
	"context"
	"errors"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/hasidecar/hasidecar/sidecar/ack"
	"github.com/hasidecar/hasidecar/tailer"
)

// brokenListener is a real TCP listener whose Accept fails with errno.
type brokenListener struct {
	net.Listener
	errno syscall.Errno
}

func (l brokenListener) Accept() (net.Conn, error) {
	return nil, &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", l.errno)}
}

// A permanent accept error ends Serve with that error (it used to wait
// forever for its own goroutines); the temporary ones are acceptloop's.
func TestServeReturnsPermanentAcceptError(t *testing.T) {
	log := zaptest.NewLogger(t)
	lay := testLayout(t, testSeg)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tail := tailer.New(log, t.TempDir(), lay, tailer.Options{})
	m := NewMaster(log, MasterConfig{}, lay, tail, ack.NewTracker(log, ack.Policy{Kind: ack.Any}, 0))
	done := make(chan error, 1)
	go func() { done <- m.Serve(context.Background(), brokenListener{ln, syscall.EINVAL}) }()
	select {
	case err := <-done:
		if !errors.Is(err, syscall.EINVAL) {
			t.Fatalf("Serve: %v, want EINVAL", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return within 10s of a permanent accept error")
	}
}
