package tailer

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// waitLog waits (bounded) for an error log line containing snippet.
func waitLog(t *testing.T, logs *observer.ObservedLogs, snippet string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for logs.FilterMessageSnippet(snippet).Len() == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no log line containing %q; got %v", snippet, logs.All())
		}
		time.Sleep(time.Millisecond) // polling a condition, bounded by the deadline
	}
}

// firstDiff is the first index where a and b differ (len of the shorter
// when one is a prefix of the other).
func firstDiff(a, b []byte) int {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	return i
}

// TestReplacedSegmentDivergence: the live segment is replaced by a file
// whose published bytes differ (a writer restarted on other data). The
// tailer calls the hook, then moves End back to the first differing byte
// (nothing above it is served), and serves the new file's bytes once they
// are final, ending the divergence.
func TestReplacedSegmentDivergence(t *testing.T) {
	dir := t.TempDir()
	l := &testLayout{size: 4096, prealloc: true}
	w := newMmapWriter(t, dir, l, 0)
	w.Append(payloadAt(0, 100))
	end := w.Append(payloadAt(1, 100))
	core, logs := observer.New(zapcore.ErrorLevel)
	tl := New(zap.New(core), dir, l, fastOpts)
	var hookMu sync.Mutex
	var seen []Divergence
	tl.OnDiverge(func(d Divergence) {
		hookMu.Lock()
		seen = append(seen, d)
		hookMu.Unlock()
		if d.Active && tl.state.End != d.OldEnd {
			t.Errorf("hook ran after End moved: end %d, old end %d", tl.state.End, d.OldEnd)
		}
	})
	runTailer(t, tl)
	tl.Hint(end)
	waitState(t, tl, 5*time.Second, "end", func(s State) bool { return s.End == end })
	old := drain(t, tl, 0, end, 4096)

	seg := make([]byte, l.size)
	pos := copy(seg, record(payloadAt(0, 100)))
	pos += copy(seg[pos:], record(payloadAt(7, 100))) // differs below End
	at := int64(firstDiff(old, seg[:end]))
	replaceFile(t, filepath.Join(dir, l.SegmentName(0)), seg)
	waitLog(t, logs, "DIVERGENCE")
	st := waitState(t, tl, 5*time.Second, "end back at the first differing byte", func(s State) bool { return s.End == at })
	if !st.Diverged.Active || st.Diverged.At != at || st.Diverged.OldEnd != end || st.Diverged.Count != 1 {
		t.Fatalf("divergence state %+v, want active at %d old end %d", st.Diverged, at, end)
	}
	if _, err := tl.Read(at+1, 10); err == nil {
		t.Fatal("Read above the divergence point served bytes")
	}

	// The new file's bytes settle: End follows them and the divergence ends.
	tl.Hint(int64(pos))
	st = waitState(t, tl, 5*time.Second, "end follows the new file", func(s State) bool { return s.End == int64(pos) })
	if st.Diverged.Active {
		t.Fatalf("divergence still active at end %d", st.End)
	}
	if got := drain(t, tl, 0, int64(pos), 4096); string(got) != string(seg[:pos]) {
		t.Fatal("bytes after the divergence are not the new file's")
	}
	hookMu.Lock()
	defer hookMu.Unlock()
	if len(seen) != 2 || !seen[0].Active || seen[1].Active || seen[0].At != at {
		t.Fatalf("hook calls %+v, want one active at %d then one ended", seen, at)
	}
}

// TestRewrittenInPlaceDivergence: the writer rewrites published bytes in
// the same file through its mapping (a restart that rewrote its tail from
// below End). The digest of what was published locates the change, End
// moves back to the start of the first changed block, and the bytes served
// afterwards are the new ones.
func TestRewrittenInPlaceDivergence(t *testing.T) {
	// Aligned: the new records end exactly where old ones did, so the scan
	// at End finds valid records; only the periodic look at the last
	// published block sees the change. Unaligned: End falls inside a new
	// record, the tail is stuck on bytes that do not validate.
	for _, size := range []int{1000, 1500} {
		t.Run(fmt.Sprint("payload", size), func(t *testing.T) { testRewrittenInPlace(t, size) })
	}
}

func testRewrittenInPlace(t *testing.T, newSize int) {
	dir := t.TempDir()
	l := &testLayout{size: 1 << 20, prealloc: true}
	w := newMmapWriter(t, dir, l, 0)
	var end int64
	for i := range 200 { // ~200 KiB: several digest blocks
		end = w.Append(payloadAt(i, 1000))
	}
	core, logs := observer.New(zapcore.ErrorLevel)
	tl := startTailerLog(t, zap.New(core), dir, l, fastOpts)
	tl.Hint(end)
	waitState(t, tl, 5*time.Second, "end", func(s State) bool { return s.End == end })

	// Rewrite from record 150 on with other payloads, as a restarted writer
	// that lost its last records would.
	w.Rewind(150 * int64(len(record(payloadAt(0, 1000)))))
	var end2 int64
	for i := range 60 {
		end2 = w.Append(payloadAt(1000+i, newSize))
	}
	waitLog(t, logs, "DIVERGENCE")
	rewindAt := 150 * int64(len(record(payloadAt(0, 1000))))
	tl.Hint(end2)
	st := waitState(t, tl, 5*time.Second, "new end", func(s State) bool { return s.End == end2 && !s.Diverged.Active })
	if st.Diverged.Count != 1 || st.Diverged.At > rewindAt || st.Diverged.At < rewindAt-digestBlock {
		t.Fatalf("divergence %+v: want at the block holding %d", st.Diverged, rewindAt)
	}
	data, err := os.ReadFile(filepath.Join(dir, l.SegmentName(0)))
	if err != nil {
		t.Fatal(err)
	}
	if got := drain(t, tl, st.Diverged.At, end2, 4096); string(got) != string(data[st.Diverged.At:end2]) {
		t.Fatal("bytes served after the rewrite differ from the file")
	}
}

// replaceFile replaces path atomically with a file holding data.
func replaceFile(t *testing.T, path string, data []byte) {
	t.Helper()
	tmp := path + ".replacement"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// TestSegmentReappears: a deleted segment that comes back is logged and
// scanned from its start.
func TestSegmentReappears(t *testing.T) {
	dir := t.TempDir()
	l := &testLayout{size: 1024, prealloc: true}
	w := newMmapWriter(t, dir, l, 0)
	for i := range 5 {
		w.Append(payloadAt(i, 300))
	}
	core, logs := observer.New(zapcore.ErrorLevel)
	tl := startTailerLog(t, zap.New(core), dir, l, fastOpts)
	waitState(t, tl, 5*time.Second, "first segment final", func(s State) bool { return s.End >= 1024 })
	path := filepath.Join(dir, l.SegmentName(0))
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	waitState(t, tl, 5*time.Second, "oldest moves up", func(s State) bool { return s.Oldest == 1024 })
	tmp := filepath.Join(dir, "restore.tmp")
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
	waitState(t, tl, 5*time.Second, "segment back", func(s State) bool { return s.Oldest == 0 && s.Segments == 2 })
	waitLog(t, logs, "reappeared")
	if got := drain(t, tl, 0, 1024, 4096); string(got) != string(data) {
		t.Fatal("reappeared segment reads differently")
	}
}
