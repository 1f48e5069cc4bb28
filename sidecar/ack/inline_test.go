package ack_test

import (
	"testing"
	"time"

	"github.com/hasidecar/hasidecar/sidecar/ack"
)

// Answers are written by the goroutine that made them, without blocking,
// and what the socket does not take is written later, in order:
// a client that pipelines far more committed WAITs than the socket and
// the 256 KiB high-water mark hold, without reading, holds up neither
// the server's reader forever nor other clients, and once it reads it
// gets every answer, in order.
func TestUnreadAnswersDoNotBlockTheServer(t *testing.T) {
	tr := newTracker(t, "any")
	tr.AddSlave("a", "x")
	tr.Ack("a", 500)
	path := startServer(t, tr, ack.ServerOptions{}, nil)
	good := dial(t, path)
	rc := openRaw(t, path)
	const n = 100_000 // 2.1 MB of requests, 1.7 MB of answers
	b := make([]byte, 0, n*21)
	for i := range n {
		b = ack.AppendWait(b, uint32(i+1), 100, time.Second)
	}
	wrote := make(chan error, 1)
	go func() { _, err := rc.c.Write(b); wrote <- err }()
	// The pipelining client reads nothing yet: its writes stall once the
	// server stops reading it, and others are still answered meanwhile.
	for range 10 {
		if r, err := good.Wait(t.Context(), 400); err != nil || r.Status != ack.OK {
			t.Fatalf("other client while one does not read: %+v %v", r, err)
		}
	}
	for i := range n {
		r := rc.response()
		if r.ID != uint32(i+1) || r.Result.Status != ack.OK {
			t.Fatalf("answer %d: %+v, want OK for id %d", i, r, i+1)
		}
	}
	if err := <-wrote; err != nil {
		t.Fatalf("pipelined write: %v", err)
	}
}
