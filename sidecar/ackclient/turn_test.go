package ackclient_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hasidecar/hasidecar/sidecar/ack"
	"github.com/hasidecar/hasidecar/sidecar/ackclient"
)

// The client has no reader goroutine: the first call in flight reads for
// everyone. Its answers reach the other callers, and when it gives up
// (cancelled) another waiting caller takes over reading, so that caller
// still gets its answer.
func TestReadTurnPassesOn(t *testing.T) {
	tr := tracker(t)
	c, err := ackclient.Dial(t.Context(), serve(t, tr, nil))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithCancel(t.Context())
	first := make(chan error, 1)
	go func() { // parked first, so it holds the read turn
		_, err := c.Wait(ctx, 1000)
		first <- err
	}()
	poll(t, func() bool { return tr.Waiting() == 1 })
	// Already committed: answered at once, read by the first caller.
	tr.Ack("a", 5)
	if r, err := c.Wait(t.Context(), 5); err != nil || r.Status != ack.OK {
		t.Fatalf("committed wait while another call reads: %+v %v", r, err)
	}
	second := make(chan ack.Result, 1)
	go func() {
		wctx, wcancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer wcancel()
		r, err := c.Wait(wctx, 20)
		if err != nil {
			t.Errorf("second wait: %v", err)
		}
		second <- r
	}()
	poll(t, func() bool { return tr.Waiting() == 2 })
	cancel()
	select {
	case err := <-first:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled reader: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the cancelled reader did not return")
	}
	tr.Ack("a", 20) // only the second caller is left to read this answer
	select {
	case r := <-second:
		if r.Status != ack.OK || r.Acked != 20 {
			t.Fatalf("second wait: %+v, want OK at 20", r)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("nobody read the second caller's answer after the reader left")
	}
}
