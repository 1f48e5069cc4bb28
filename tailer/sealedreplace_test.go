package tailer

import (
	"bytes"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// TestSealedSegmentReplaced: a sealed segment, published whole, gets
// another file renamed over it with different bytes. Its old bytes are not
// mapped any more, so they cannot be compared: the tailer counts them all
// as changed. It calls the divergence hook (Active, At = the segment's
// start, OldEnd = the End then) before End moves back to the segment's
// start; the new file is sealed too, so it is published whole again at
// once, the divergence ends (hook called with Active false), State keeps
// the divergence (Count 1) and Reads serve the new file's bytes, never the
// old ones. Both when nothing of it was mapped (its identity known only
// from the start-up stat) and when a Read's mapping of the old file still
// lingers in the cache.
func TestSealedSegmentReplaced(t *testing.T) {
	for _, read := range []bool{false, true} {
		name := "never read"
		if read {
			name = "read before"
		}
		t.Run(name, func(t *testing.T) { testSealedReplaced(t, read) })
	}
}

func testSealedReplaced(t *testing.T, readBefore bool) {
	dir := t.TempDir()
	l := &testLayout{size: 4096, prealloc: true}
	size := l.size
	for i := range int64(3) {
		writeFile(t, filepath.Join(dir, l.SegmentName(i*size)), sealedBytes(l, int(i)))
	}
	live := make([]byte, size)
	end := 3*size + int64(copy(live, record(payloadAt(9, 300))))
	writeFile(t, filepath.Join(dir, l.SegmentName(3*size)), live)

	core, logs := observer.New(zapcore.WarnLevel)
	tl := New(zap.New(core), dir, l, fastOpts)
	var mu sync.Mutex
	var seen []Divergence
	tl.OnDiverge(func(d Divergence) {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, d)
	})
	runTailer(t, tl)
	tl.Hint(end)
	waitState(t, tl, 10*time.Second, "end in the live segment", func(s State) bool { return s.End == end })
	if readBefore {
		if got := drain(t, tl, size, 2*size, 4096); !bytes.Equal(got, sealedBytes(l, 1)) {
			t.Fatal("segment 1 reads differently from its file")
		}
	}

	repl := sealedBytes(l, 50)
	replaceFile(t, filepath.Join(dir, l.SegmentName(size)), repl)
	waitLog(t, logs, "DIVERGENCE")
	st := waitState(t, tl, 10*time.Second, "divergence ended", func(s State) bool {
		return s.Diverged.Count == 1 && !s.Diverged.Active && s.End >= 3*size
	})
	if st.Diverged.At != size || st.Diverged.OldEnd != end {
		t.Fatalf("divergence %+v: want at %d, old end %d", st.Diverged, size, end)
	}
	mu.Lock()
	if len(seen) != 2 || !seen[0].Active || seen[0].At != size || seen[0].OldEnd != end || seen[1].Active {
		t.Errorf("hook calls %+v: want one active at %d (old end %d), then one ended", seen, size, end)
	}
	mu.Unlock()
	if got := drain(t, tl, size, 2*size, 4096); !bytes.Equal(got, repl) {
		t.Fatal("the replaced segment serves bytes other than its new file's")
	}
	// The live segment's last record settles again (the hint was dropped
	// with the divergence).
	waitState(t, tl, 10*time.Second, "end back in the live segment", func(s State) bool { return s.End == end })
}
