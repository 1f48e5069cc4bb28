package ackclient_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/hasidecar/hasidecar/sidecar/ack"
	"github.com/hasidecar/hasidecar/sidecar/ackclient"
)

// slowServer is a real Unix-socket ack server that answers every WAIT with
// TIMEOUT(acked) late: delay after the WAIT's own timeout, or never when
// delay < 0. It serves one connection.
func slowServer(t *testing.T, acked int64, delay time.Duration) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "slow.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { ln.Close(); <-done })
	go func() {
		defer close(done)
		s, err := ln.Accept()
		if err != nil {
			return
		}
		defer s.Close()
		stop := make(chan struct{})
		defer close(stop)
		go func() { <-stop; s.Close() }() // unblocks the reader at cleanup
		ln.Close()
		serveSlow(s, acked, delay)
	}()
	return path
}

func serveSlow(s net.Conn, acked int64, delay time.Duration) {
	r := bufio.NewReader(s)
	if _, err := io.ReadFull(r, make([]byte, ack.PreambleLen)); err != nil {
		return
	}
	s.Write(ack.AppendPreamble(nil, ack.Version, ack.PreambleOK))
	for {
		body, err := ack.ReadFrame(r, nil, ack.MaxRequest)
		if err != nil {
			return
		}
		req, err := ack.DecodeRequest(body)
		if err != nil || req.Type != ack.TypeWait || delay < 0 {
			continue
		}
		time.AfterFunc(req.Timeout+delay, func() {
			s.Write(ack.AppendResult(nil, req.ID, ack.Result{Status: ack.Timeout, Acked: acked}))
		})
	}
}

// The server's TIMEOUT arrives a little after the client's own deadline:
// the client reports it, with the server's committed offset, not -1.
func TestWaitReportsTheServersLateTimeout(t *testing.T) {
	c, err := ackclient.Dial(t.Context(), slowServer(t, 42, 100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	r, err := c.Wait(ctx, 1000)
	if err != nil || r.Status != ack.Timeout || r.Acked != 42 {
		t.Fatalf("Wait: %+v %v, want the server's TIMEOUT with acked 42", r, err)
	}
}

// No answer at all is an error, never a made-up TIMEOUT.
func TestWaitWithoutAnswerIsAnError(t *testing.T) {
	c, err := ackclient.Dial(t.Context(), slowServer(t, 42, -1))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	r, err := c.WaitTimeout(t.Context(), 1000, 50*time.Millisecond)
	took := time.Since(start)
	if !errors.Is(err, ackclient.ErrNoAnswer) || r.Status != 0 {
		t.Fatalf("WaitTimeout: %+v %v, want ErrNoAnswer", r, err)
	}
	if want := 50*time.Millisecond + ackclient.AnswerMargin(50*time.Millisecond); took < want || took > want+5*time.Second {
		t.Fatalf("gave up after %v, want about %v", took, want)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if r, err := c.Wait(ctx, 1000); !errors.Is(err, ackclient.ErrNoAnswer) {
		t.Fatalf("Wait: %+v %v, want ErrNoAnswer", r, err)
	}
}
