package tailer

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/edsrzf/mmap-go"
	"github.com/fsnotify/fsnotify"
)

// TestMmapWritesRaiseNoFsnotifyEvent documents the finding in doc.go: a
// store into a shared mapping raises no inotify Write event. The control is
// a write(2) to a second file after it: inotify events are ordered, so had
// the mmap store raised one it would arrive before the control's.
func TestMmapWritesRaiseNoFsnotifyEvent(t *testing.T) {
	dir := t.TempDir()
	mapped, control := filepath.Join(dir, "mapped"), filepath.Join(dir, "control")
	f, err := os.Create(mapped)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(4096); err != nil {
		t.Fatal(err)
	}
	m, err := mmap.MapRegion(f, 4096, mmap.RDWR, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Unmap()
	if err := os.WriteFile(control, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := w.Add(dir); err != nil {
		t.Fatal(err)
	}
	copy(m, "written through the mapping")
	if err := m.Flush(); err != nil { // even msync raises nothing
		t.Fatal(err)
	}
	if err := os.WriteFile(control, []byte("write(2)"), 0o644); err != nil {
		t.Fatal(err)
	}
	deadline := time.NewTimer(5 * time.Second)
	defer deadline.Stop()
	for {
		select {
		case ev := <-w.Events:
			if ev.Name == mapped {
				t.Fatalf("mmap store raised %v", ev)
			}
			if ev.Name == control && ev.Has(fsnotify.Write) {
				return
			}
		case err := <-w.Errors:
			t.Fatal(err)
		case <-deadline.C:
			t.Fatal("no event for the write(2) control")
		}
	}
}

// TestMmapWriterWithoutEvents: a writer appending through mmap, no fsync,
// no events; the poll alone brings End to it (each record is made final by
// the next one, the last one by settling).
func TestMmapWriterWithoutEvents(t *testing.T) {
	dir := t.TempDir()
	l := &testLayout{size: 1 << 16, prealloc: true}
	w := newMmapWriter(t, dir, l, 0)
	tl := startTailer(t, dir, l, fastOpts)
	waitState(t, tl, 5*time.Second, "segment seen", func(s State) bool { return s.Segments == 1 })
	for i := range 50 {
		end := w.Append(payloadAt(i, 500))
		waitState(t, tl, 5*time.Second, "end follows the mmap writer", func(s State) bool { return s.End == end })
	}
}

func TestLastRecordWaitsForSettleOrHint(t *testing.T) {
	dir := t.TempDir()
	l := &testLayout{size: 1 << 16, prealloc: true}
	w := newMmapWriter(t, dir, l, 0)
	opts := fastOpts
	opts.Settle = time.Hour
	tl := startTailer(t, dir, l, opts)
	first := w.Append(payloadAt(0, 100))
	last := w.Append(payloadAt(1, 100))
	// The second record makes the first final; the second itself must wait.
	waitState(t, tl, 5*time.Second, "first record final", func(s State) bool { return s.End >= first })
	for range 20 { // several poll rounds
		waitPolls(t, tl, 3)
		if st := tl.State(); st.End != first {
			t.Fatalf("last record published before settle: end %d, want %d", st.End, first)
		}
	}
	tl.Hint(last)
	waitState(t, tl, time.Second, "hint publishes the last record", func(s State) bool { return s.End == last })
}

func TestLastRecordPublishedAfterSettle(t *testing.T) {
	dir := t.TempDir()
	l := &testLayout{size: 1 << 16, prealloc: true}
	w := newMmapWriter(t, dir, l, 0)
	opts := fastOpts
	opts.Settle = 30 * time.Millisecond
	tl := startTailer(t, dir, l, opts)
	start := time.Now()
	end := w.Append(payloadAt(0, 100))
	waitState(t, tl, 5*time.Second, "settled record published", func(s State) bool { return s.End == end })
	if waited := time.Since(start); waited < opts.Settle {
		t.Fatalf("published after %v, before the settle time %v", waited, opts.Settle)
	}
}

// waitPolls lets the loop run at least n steps: each Hint(0) wake is only
// taken by the loop, so a second successful send means the first was
// consumed and a step ran after it.
func waitPolls(t *testing.T, tl *Tailer, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for i := 0; i < n; {
		select {
		case tl.wake <- struct{}{}:
			i++
		default:
			if time.Now().After(deadline) {
				t.Fatal("loop does not consume wake-ups")
			}
			time.Sleep(100 * time.Microsecond) // polling a condition, bounded by the deadline
		}
	}
}

func TestReadBounds(t *testing.T) {
	dir := t.TempDir()
	l := &testLayout{size: 1024, prealloc: true}
	w := newMmapWriter(t, dir, l, 0)
	for i := range 12 {
		w.Append(payloadAt(i, 192))
	}
	end := w.Append(payloadAt(12, 10))
	tl := startTailer(t, dir, l, fastOpts)
	tl.Hint(end)
	st := waitState(t, tl, 5*time.Second, "end", func(s State) bool { return s.End == end })
	for _, c := range []struct {
		off  int64
		max  int
		want int
	}{
		{0, 1 << 20, 1024}, {1000, 100, 24}, {1024, 1 << 20, 1024}, {5, 7, 7},
		{end - 3, 100, 3}, {end, 100, 0}, {0, 0, 0},
	} {
		ch, err := tl.Read(c.off, c.max)
		if err != nil || len(ch.Data) != c.want || ch.Offset != c.off {
			t.Errorf("Read(%d, %d) = %d bytes at %d, %v; want %d", c.off, c.max, len(ch.Data), ch.Offset, err, c.want)
		}
		ch.Release()
		ch.Release() // twice is harmless
	}
	if _, err := tl.Read(st.End+1, 10); !errors.Is(err, ErrBeyondEnd) {
		t.Errorf("Read past End: %v", err)
	}
	var oe *OffsetError
	if _, err := tl.Read(-1, 10); !errors.Is(err, ErrGone) || !errors.As(err, &oe) || oe.Offset != -1 {
		t.Errorf("Read(-1): %v", err)
	}
	for off, want := range map[int64]bool{0: true, 1024: true, end: true, 8 + 192: true, 5: false} {
		if got, err := tl.IsBoundary(off); err != nil || got != want {
			t.Errorf("IsBoundary(%d) = %t, %v; want %t", off, got, err, want)
		}
	}
	if _, err := tl.IsBoundary(end + 1); !errors.Is(err, ErrBeyondEnd) {
		t.Errorf("IsBoundary past End: %v", err)
	}
}

func TestRetentionKeepsHeldChunks(t *testing.T) {
	dir := t.TempDir()
	l := &testLayout{size: 1024, prealloc: true}
	w := newMmapWriter(t, dir, l, 0)
	tl := startTailer(t, dir, l, fastOpts)
	for i := range 10 {
		w.Append(payloadAt(i, 300))
	}
	waitState(t, tl, 5*time.Second, "two segments final", func(s State) bool { return s.End >= 2048 })
	held, err := tl.Read(0, 1024)
	if err != nil || len(held.Data) != 1024 {
		t.Fatalf("Read(0): %d bytes, %v", len(held.Data), err)
	}
	want := bytes.Clone(held.Data)
	if err := os.Remove(filepath.Join(dir, l.SegmentName(0))); err != nil {
		t.Fatal(err)
	}
	waitState(t, tl, 5*time.Second, "oldest moves up", func(s State) bool { return s.Oldest == 1024 })
	if _, err := tl.Read(10, 10); !errors.Is(err, ErrGone) {
		t.Fatalf("Read of a deleted segment: %v", err)
	}
	if _, err := tl.IsBoundary(10); !errors.Is(err, ErrGone) {
		t.Fatalf("IsBoundary in a deleted segment: %v", err)
	}
	if !bytes.Equal(held.Data, want) {
		t.Fatal("held chunk changed after its segment was deleted")
	}
	held.Release()
}

func TestForeignFilesIgnored(t *testing.T) {
	dir := t.TempDir()
	l := &testLayout{size: 1024, prealloc: true}
	for name, data := range map[string]string{"checkpoint": "x", "abort": "", "00000000000000000007": "misaligned", "0000000000000000000x": "bad"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "00000000000000002048"), 0o755); err != nil {
		t.Fatal(err)
	}
	w := newMmapWriter(t, dir, l, 1024)
	end := w.Append(payloadAt(0, 10))
	tl := startTailer(t, dir, l, fastOpts)
	tl.Hint(end)
	st := waitState(t, tl, 5*time.Second, "end", func(s State) bool { return s.End == end })
	if st.Segments != 1 || st.Oldest != 1024 || st.LiveStart != 1024 {
		t.Fatalf("foreign files counted: %+v", st)
	}
	if err := os.WriteFile(filepath.Join(dir, "checkpoint"), []byte("more"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestConcurrentReaders: one mmap writer, eight readers draining as the end
// moves, each checking every byte; run with -race.
func TestConcurrentReaders(t *testing.T) {
	dir := t.TempDir()
	l := &testLayout{size: 8192, prealloc: true}
	w := newMmapWriter(t, dir, l, 0)
	tl := startTailer(t, dir, l, fastOpts)
	var want bytes.Buffer
	var final int64
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range 400 {
			p := payloadAt(i, 50+i%300)
			w.Append(p)
			want.Write(record(p))
		}
		final = w.Append(payloadAt(400, 1))
		want.Write(record(payloadAt(400, 1)))
		tl.Hint(final)
	})
	got := make([][]byte, 8)
	for r := range got {
		wg.Go(func() { got[r] = follow(t, tl, 100+r*37) })
	}
	wg.Wait()
	for r := range got {
		if !bytes.Equal(stripBlanks(t, got[r], l.size), want.Bytes()) {
			g := stripBlanks(t, got[r], l.size)
			i := 0
			for i < min(len(g), want.Len()) && g[i] == want.Bytes()[i] {
				i++
			}
			t.Fatalf("reader %d saw different bytes: %d read, %d stripped, %d want, first difference at %d", r, len(got[r]), len(g), want.Len(), i)
		}
	}
}

// follow reads from 0 as End moves until it reaches the last record.
func follow(t *testing.T, tl *Tailer, max int) []byte {
	var out []byte
	deadline := time.After(10 * time.Second)
	for off := int64(0); ; {
		changed := tl.Changed()
		c, err := tl.Read(off, max)
		if err != nil {
			t.Errorf("Read(%d): %v", off, err)
			return out
		}
		n := len(c.Data)
		out = append(out, c.Data...)
		off += int64(n)
		c.Release()
		if n > 0 {
			continue
		}
		if len(out) > 0 && bytes.Equal(out[len(out)-9:], record(payloadAt(400, 1))) {
			return out
		}
		select {
		case <-changed:
		case <-deadline:
			t.Errorf("reader stuck at %d", off)
			return out
		}
	}
}

func TestRunEndsAndReleases(t *testing.T) {
	dir := t.TempDir()
	l := &testLayout{size: 1024, prealloc: true}
	w := newMmapWriter(t, dir, l, 0)
	end := w.Append(payloadAt(0, 100))
	tl := New(nil, dir, l, fastOpts)
	ctx, cancel := contextWithTimeout(t)
	done := make(chan error, 1)
	go func() { done <- tl.Run(ctx) }()
	tl.Hint(end)
	waitState(t, tl, 5*time.Second, "end", func(s State) bool { return s.End == end })
	held, err := tl.Read(0, 100)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	select {
	case <-tl.Changed():
	default:
		t.Fatal("Changed not closed after Run returned")
	}
	if _, err := tl.Read(0, 10); !errors.Is(err, fs.ErrClosed) {
		t.Fatalf("Read after Run: %v", err)
	}
	_ = held.Data[99] // still mapped: the chunk holds its reference
	held.Release()
	if err := tl.Run(t.Context()); !errors.Is(err, fs.ErrClosed) {
		t.Fatalf("second Run: %v", err)
	}
}
