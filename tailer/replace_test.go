package tailer

import (
	"os"
	"path/filepath"
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

// TestReplacedSegmentDivergence: the live segment is replaced by a file
// whose published bytes differ (a writer restarted on other data). The
// tailer logs DIVERGENCE, keeps End where it was, and follows the new file
// once it grows past End.
func TestReplacedSegmentDivergence(t *testing.T) {
	dir := t.TempDir()
	l := &testLayout{size: 4096, prealloc: true}
	w := newMmapWriter(t, dir, l, 0)
	w.Append(payloadAt(0, 100))
	end := w.Append(payloadAt(1, 100))
	core, logs := observer.New(zapcore.ErrorLevel)
	tl := startTailerLog(t, zap.New(core), dir, l, fastOpts)
	tl.Hint(end)
	waitState(t, tl, 5*time.Second, "end", func(s State) bool { return s.End == end })

	seg := make([]byte, l.size)
	pos := copy(seg, record(payloadAt(0, 100)))
	pos += copy(seg[pos:], record(payloadAt(7, 100))) // differs below End
	tmp := filepath.Join(dir, "replacement.tmp")
	if err := os.WriteFile(tmp, seg, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, l.SegmentName(0))); err != nil {
		t.Fatal(err)
	}
	waitLog(t, logs, "DIVERGENCE")
	if st := tl.State(); st.End != end {
		t.Fatalf("end moved from %d to %d after the replacement", end, st.End)
	}

	// The new file grows: End follows from the new file's bytes.
	pos += copy(seg[pos:], record(payloadAt(8, 50)))
	if err := os.WriteFile(filepath.Join(dir, l.SegmentName(0)), seg, 0o644); err != nil {
		t.Fatal(err)
	}
	tl.Hint(int64(pos))
	waitState(t, tl, 5*time.Second, "end follows the new file", func(s State) bool { return s.End == int64(pos) })
	c, err := tl.Read(end, 1000)
	if err != nil || string(c.Data) != string(seg[end:pos]) {
		t.Fatalf("Read after replacement: %v", err)
	}
	c.Release()
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
