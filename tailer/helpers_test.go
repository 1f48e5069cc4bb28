package tailer

import (
	"bytes"
	"context"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/hasidecar/hasidecar/plugins"
)

// fastOpts keeps tests quick: a short poll and settle.
var fastOpts = Options{PollMin: time.Millisecond, PollMax: 5 * time.Millisecond, Settle: 10 * time.Millisecond, Rescan: 50 * time.Millisecond}

// startTailer runs a Tailer until the test ends and checks that Run
// returned nil.
func startTailer(t testing.TB, dir string, l plugins.Layout, opts Options) *Tailer {
	t.Helper()
	return startTailerLog(t, zaptest.NewLogger(t), dir, l, opts)
}

func startTailerLog(t testing.TB, log *zap.Logger, dir string, l plugins.Layout, opts Options) *Tailer {
	t.Helper()
	return runTailer(t, New(log, dir, l, opts))
}

// runTailer runs tl until the test ends and checks that Run returned nil.
func runTailer(t testing.TB, tl *Tailer) *Tailer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- tl.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run returned %v", err)
		}
	})
	return tl
}

// waitState waits (bounded) for cond to hold on the tailer's State.
func waitState(t testing.TB, tl *Tailer, d time.Duration, what string, cond func(State) bool) State {
	t.Helper()
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		ch := tl.Changed()
		st := tl.State()
		if cond(st) {
			return st
		}
		select {
		case <-ch:
		case <-timer.C:
			t.Fatalf("timed out after %v waiting for %s; state %+v", d, what, tl.State())
		}
	}
}

// drain reads [from, to) through Read in chunks of at most max bytes,
// checking that no chunk crosses a segment.
func drain(t testing.TB, tl *Tailer, from, to int64, max int) []byte {
	t.Helper()
	var out bytes.Buffer
	size := tl.info.SegmentSize
	for off := from; off < to; {
		c, err := tl.Read(off, max)
		if err != nil {
			t.Fatalf("Read(%d): %v", off, err)
		}
		if len(c.Data) == 0 {
			t.Fatalf("Read(%d) empty below %d (state %+v)", off, to, tl.State())
		}
		if c.Offset != off || len(c.Data) > max || off/size != (off+int64(len(c.Data))-1)/size {
			t.Fatalf("Read(%d, %d) = [%d, +%d): bad bounds", off, max, c.Offset, len(c.Data))
		}
		out.Write(c.Data)
		off += int64(len(c.Data))
		c.Release()
	}
	return out.Bytes()
}

func contextWithTimeout(t testing.TB) (context.Context, context.CancelFunc) {
	return context.WithTimeout(t.Context(), 10*time.Second)
}
