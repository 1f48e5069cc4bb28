package rocketmq

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hasidecar/hasidecar/plugins"
)

// TestWriterReopen kills a writer (Close without Flush), leaves a torn record
// after its end, reopens, continues and checks the directory is one
// consistent log.
func TestWriterReopen(t *testing.T) {
	dir := t.TempDir()
	w := openTestWriter(t, dir, WriterOptions{})
	for i := 0; w.End() < testSeg+1500; i++ {
		if _, err := w.Append(testMsg(i, 200)); err != nil {
			t.Fatal(err)
		}
	}
	end := w.End()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Append(testMsg(0, 1)); !errors.Is(err, plugins.ErrClosed) {
		t.Fatalf("Append after Close: %v", err)
	}
	// A torn record: the first 150 bytes of a 291-byte record.
	torn := AppendRecord(nil, testMsg(99, 200), end)[:150]
	tearAt(t, filepath.Join(dir, w.Layout().SegmentName(testSeg)), end-testSeg, torn)

	w2 := openTestWriter(t, dir, WriterOptions{})
	if w2.End() != end {
		t.Fatalf("reopened at %d, want %d", w2.End(), end)
	}
	next, err := w2.Append(testMsg(100, 10))
	if err != nil || next != end+int64(RecordSize(testMsg(100, 10))) {
		t.Fatalf("Append after reopen: %d, %v", next, err)
	}
	for i := 0; w2.End() < 3*testSeg+10; i++ {
		if _, err := w2.Append(testMsg(i, 300)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w2.Flush(); err != nil {
		t.Fatal(err)
	}
	starts, scans := scanAll(t, w2.Layout(), dir)
	if len(starts) != 4 || scans[3].End != w2.End() {
		t.Fatalf("segments %v, last %+v, writer end %d", starts, scans[len(scans)-1], w2.End())
	}
	if ok, err := w2.Layout().IsBoundary(filepath.Join(dir, w2.Layout().SegmentName(testSeg)), testSeg, next); !ok || err != nil {
		t.Fatalf("record after the torn one is not a boundary: %v, %v", ok, err)
	}
}

func tearAt(t *testing.T, path string, rel int64, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(b, rel); err != nil {
		t.Fatal(err)
	}
}

// TestWriterReopenSealed reopens after the newest segment was sealed, and
// after a roll whose new segment is still empty.
func TestWriterReopenSealed(t *testing.T) {
	dir := t.TempDir()
	w := openTestWriter(t, dir, WriterOptions{})
	for w.End() < testSeg {
		if _, err := w.Append(testMsg(1, 500)); err != nil {
			t.Fatal(err)
		}
	}
	_ = w.Close()
	// Remove the second segment: the first is sealed, the writer goes on at
	// the next segment's start.
	if err := os.Remove(filepath.Join(dir, w.Layout().SegmentName(testSeg))); err != nil {
		t.Fatal(err)
	}
	w2 := openTestWriter(t, dir, WriterOptions{})
	if w2.End() != testSeg {
		t.Fatalf("End after sealed segment = %d", w2.End())
	}
	if end, err := w2.Append(testMsg(2, 10)); err != nil || end != testSeg+int64(RecordSize(testMsg(2, 10))) {
		t.Fatalf("Append: %d, %v", end, err)
	}
	_ = w2.Close()
	starts, _ := scanAll(t, w2.Layout(), dir)
	if len(starts) != 2 {
		t.Fatalf("segments %v", starts)
	}
}

// TestWriterDropsEmptyAfterUnsealed: an empty newest segment after one that
// was never sealed is removed and the writer continues in the older one.
func TestWriterDropsEmptyAfterUnsealed(t *testing.T) {
	dir := t.TempDir()
	l := testLayout(t, Options{})
	data, offs := buildRecords(0, testMsg(1, 10), testMsg(2, 20))
	writeSegment(t, l, dir, 0, data, testSeg)
	writeSegment(t, l, dir, testSeg, nil, testSeg)
	if err := os.WriteFile(filepath.Join(dir, "checkpoint"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	w := openTestWriter(t, dir, WriterOptions{})
	if w.End() != offs[2] {
		t.Fatalf("End = %d, want %d", w.End(), offs[2])
	}
	if _, err := os.Stat(filepath.Join(dir, l.SegmentName(testSeg))); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("empty segment kept: %v", err)
	}
}

func TestWriterRetention(t *testing.T) {
	dir := t.TempDir()
	w := openTestWriter(t, dir, WriterOptions{Retain: 2})
	for w.End() < 5*testSeg+10 {
		if _, err := w.Append(testMsg(1, 700)); err != nil {
			t.Fatal(err)
		}
	}
	starts, err := plugins.ListSegments(w.Layout(), dir)
	if err != nil || len(starts) != 2 || starts[0] != 4*testSeg || starts[1] != 5*testSeg {
		t.Fatalf("segments after retention %v, %v", starts, err)
	}
	// Sealed segments deleted before the first Flush are not an error.
	if err := w.Flush(); err != nil || len(w.unsynced) != 0 || w.dirDirty {
		t.Fatalf("Flush after retention: %v", err)
	}
}

func TestWriterErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := OpenWriter(nil, dir, WriterOptions{Retain: -1}); !errors.Is(err, plugins.ErrBadConfig) {
		t.Fatalf("negative retain: %v", err)
	}
	if _, err := OpenWriter(nil, dir, WriterOptions{SegmentSize: 10}); !errors.Is(err, plugins.ErrBadConfig) {
		t.Fatalf("tiny segment: %v", err)
	}
	w := openTestWriter(t, dir, WriterOptions{})
	if _, err := w.Append(testMsg(1, testSeg)); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("huge record: %v", err)
	}
	if _, err := w.Append(&Message{Topic: strings.Repeat("t", 1<<15)}); !errors.Is(err, ErrMessage) {
		t.Fatalf("huge topic: %v", err)
	}
	// The largest record that fits leaves room for a blank record.
	m := &Message{Body: make([]byte, testSeg-BlankSize-MinRecordSize)}
	if end, err := w.Append(m); err != nil || end != testSeg-BlankSize {
		t.Fatalf("largest record: %d, %v", end, err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	// A foreign, oversized segment is refused.
	big := t.TempDir()
	writeSegment(t, w.Layout(), big, 0, nil, testSeg+1)
	if _, err := OpenWriter(nil, big, WriterOptions{SegmentSize: testSeg}); !errors.Is(err, plugins.ErrCorrupt) {
		t.Fatalf("oversized segment: %v", err)
	}
}

// TestScanWhileWriting runs a writer goroutine and a reader that keeps
// scanning from its last Stable: End never decreases, and every End and
// Stable it saw is a boundary once the writer is done.
func TestScanWhileWriting(t *testing.T) {
	dir := t.TempDir()
	w := openTestWriter(t, dir, WriterOptions{SegmentSize: 64 << 10})
	l := w.Layout()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	const total = 4 * (64 << 10)
	var wg sync.WaitGroup
	var werr error
	wg.Go(func() {
		for i := 0; w.End() < total && ctx.Err() == nil; i++ {
			if _, werr = w.Append(testMsg(i, 10+i%500)); werr != nil {
				return
			}
		}
	})
	seen := readWhileWriting(ctx, t, l, dir, total)
	t.Logf("reader saw %d offsets", len(seen))
	wg.Wait()
	if werr != nil {
		t.Fatal(werr)
	}
	if ctx.Err() != nil {
		t.Fatal("timed out")
	}
	for _, off := range seen {
		start := plugins.SegmentStart(l.Info(), off-1)
		ok, err := l.IsBoundary(filepath.Join(dir, l.SegmentName(start)), start, off)
		if !ok || err != nil {
			t.Fatalf("reported offset %d does not re-validate: %v", off, err)
		}
	}
}

// readWhileWriting follows the log like a tailer until it reaches total and
// returns every End and Stable it was given.
func readWhileWriting(ctx context.Context, t *testing.T, l *Layout, dir string, total int64) []int64 {
	seg := l.Info().SegmentSize
	var seen []int64
	start, from, lastEnd := int64(0), int64(0), int64(0)
	for lastEnd < total && ctx.Err() == nil {
		sc, err := l.Scan(filepath.Join(dir, l.SegmentName(start)), start, from)
		if errors.Is(err, os.ErrNotExist) {
			continue // not created yet
		}
		if err != nil {
			t.Fatal(err)
		}
		if sc.End < lastEnd || sc.Stable < from || sc.Stable > sc.End {
			t.Fatalf("segment %d from %d: %+v after End %d", start, from, sc, lastEnd)
		}
		lastEnd, from = sc.End, sc.Stable
		seen = append(seen, sc.End, sc.Stable)
		if sc.Full {
			start += seg
			from = start
		}
	}
	return seen
}
