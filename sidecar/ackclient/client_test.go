package ackclient_test

import (
	"context"
	"errors"
	"io"
	"net"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/hasidecar/hasidecar/sidecar/ack"
	"github.com/hasidecar/hasidecar/sidecar/ackclient"
)

type hints struct{ last atomic.Int64 }

func (h *hints) Hint(off int64) { h.last.Store(off) }

func serve(t *testing.T, tr *ack.Tracker, h ack.Hinter) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ack.sock")
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- ack.NewServer(zaptest.NewLogger(t), ack.ServerOptions{Path: path}, tr, h).Run(ctx) }()
	t.Cleanup(func() { cancel(); <-errc })
	poll(t, func() bool {
		c, err := net.Dial("unix", path)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	return path
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

func tracker(t *testing.T) *ack.Tracker {
	tr := ack.NewTracker(zaptest.NewLogger(t), ack.Policy{Kind: ack.Any}, 0)
	tr.AddSlave("a", "x")
	return tr
}

func TestConcurrentCallsOneClient(t *testing.T) {
	tr, h := tracker(t), &hints{}
	c, err := ackclient.Dial(t.Context(), serve(t, tr, h))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Written(77); err != nil {
		t.Fatal(err)
	}
	poll(t, func() bool { return h.last.Load() == 77 })
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	var oks, queries atomic.Int64
	for i := range 100 {
		wg.Go(func() {
			if r, err := c.Wait(ctx, int64(i)); err == nil && r.Status == ack.OK {
				oks.Add(1)
			}
		})
		wg.Go(func() {
			if _, err := c.Query(ctx); err == nil {
				queries.Add(1)
			}
		})
	}
	poll(t, func() bool { return queries.Load() == 100 && tr.Waiting() == 99 }) // offset 0 is OK at once
	tr.Ack("a", 100)
	wg.Wait()
	if oks.Load() != 100 {
		t.Fatalf("%d OK of 100", oks.Load())
	}
}

func TestWaitContext(t *testing.T) {
	tr := tracker(t)
	c, err := ackclient.Dial(t.Context(), serve(t, tr, nil))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithCancel(t.Context())
	go func() { // cancel once the wait is parked (bounded: t.Context ends the loop too)
		for tr.Waiting() != 1 && ctx.Err() == nil {
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	if _, err := c.Wait(ctx, 10); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
	short, cancel2 := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel2()
	if r, err := c.Wait(short, 10); err != nil || r.Status != ack.Timeout {
		t.Fatalf("deadline: %+v %v", r, err)
	}
	if r, err := c.Wait(t.Context(), -1); !errors.Is(err, ack.ErrBadRequest) {
		t.Fatalf("negative offset: %+v %v", r, err)
	}
}

func TestClosedAndBrokenClient(t *testing.T) {
	if _, err := ackclient.Dial(t.Context(), filepath.Join(t.TempDir(), "none")); err == nil {
		t.Fatal("dial of a missing socket succeeded")
	}
	// A server that answers the preamble with garbage.
	path := filepath.Join(t.TempDir(), "bad.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		if s, err := ln.Accept(); err == nil {
			io.ReadFull(s, make([]byte, ack.PreambleLen))
			s.Write([]byte("NOPE1234"))
			s.Close()
		}
	}()
	if _, err := ackclient.Dial(t.Context(), path); !errors.Is(err, ack.ErrBadPreamble) {
		t.Fatalf("garbage preamble: %v", err)
	}
	c, err := ackclient.Dial(t.Context(), serve(t, tracker(t), nil))
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if _, err := c.Query(t.Context()); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("query after close: %v", err)
	}
	if err := c.Written(1); err == nil {
		t.Fatal("written after close succeeded")
	}
}
