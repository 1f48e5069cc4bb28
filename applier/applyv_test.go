package applier

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hasidecar/hasidecar/plugins/fsio"
)

// TestApplyVEqualsApply writes the same bytes as pieces and as one chunk
// into two appliers and compares the files.
func TestApplyVEqualsApply(t *testing.T) {
	lay := newTestLayout(64<<10, true)
	data := bytes.Repeat([]byte("0123456789abcdef"), 2048) // 32 KiB
	dirs := [2]string{t.TempDir(), t.TempDir()}
	for i, dir := range dirs {
		a, err := Open(nil, filepath.Join(dir, "seg"), filepath.Join(dir, "state"), lay, Options{Sync: SyncNone})
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			err = a.Apply(0, data)
		} else {
			err = a.ApplyV(0, [][]byte{data[:5], {}, data[5:20000], data[20000:]})
		}
		if err != nil || a.End() != int64(len(data)) {
			t.Fatalf("apply %d: end %d, %v", i, a.End(), err)
		}
		a.Close()
	}
	name := lay.SegmentName(0)
	x, _ := os.ReadFile(filepath.Join(dirs[0], "seg", name))
	y, _ := os.ReadFile(filepath.Join(dirs[1], "seg", name))
	if len(x) == 0 || !bytes.Equal(x, y) {
		t.Fatal("ApplyV wrote other bytes than Apply")
	}
}

func TestAdvance(t *testing.T) {
	p := advance([][]byte{[]byte("abc"), []byte("de"), []byte("f")}, 4)
	if len(p) != 2 || string(p[0]) != "e" || string(p[1]) != "f" {
		t.Fatalf("advance: %q", p)
	}
	if p := advance([][]byte{[]byte("ab"), {}}, 2); len(p) != 0 {
		t.Fatalf("advance to the end: %q", p)
	}
}

// TestApplyVManyPieces: more pieces than one pwritev takes (IOV_MAX), as a
// slave gathering many small frames produces.
func TestApplyVManyPieces(t *testing.T) {
	lay := newTestLayout(64<<10, true)
	dir := t.TempDir()
	a, err := Open(nil, filepath.Join(dir, "seg"), filepath.Join(dir, "state"), lay, Options{Sync: SyncNone})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	want := make([]byte, 3000)
	pieces := make([][]byte, len(want))
	for i := range want {
		want[i] = byte(i)
		pieces[i] = want[i : i+1]
	}
	if err := a.ApplyV(0, pieces); err != nil || a.End() != int64(len(want)) {
		t.Fatalf("ApplyV of %d pieces: end %d, %v", len(pieces), a.End(), err)
	}
	got, _ := os.ReadFile(filepath.Join(dir, "seg", lay.SegmentName(0)))
	if !bytes.Equal(got[:len(want)], want) {
		t.Fatal("bytes differ")
	}
}

// TestApplyDoesNotAllocate: the file-system seam costs no allocation per
// chunk on the operating system's files (an interface call would make the
// caller's pieces escape; fsio.WriteV avoids it).
func TestApplyDoesNotAllocate(t *testing.T) {
	_, dst, state := dirs(t)
	// One segment holds every chunk: creating a segment allocates.
	a := openT(t, dst, state, newTestLayout(1<<20, true), Options{Sync: SyncNone})
	defer a.Close()
	data := payload(0, 4<<10)
	off := int64(0)
	allocs := testing.AllocsPerRun(50, func() {
		if err := a.Apply(off, data); err != nil { // Apply wraps data in a [][]byte
			t.Fatal(err)
		}
		off += int64(len(data))
	})
	if allocs != 0 {
		t.Fatalf("%.1f allocations per Apply, want 0", allocs)
	}
}

// recordingFile is a File whose WriteV keeps the bytes and the size of each
// call, taking at most short bytes per call when short > 0.
type recordingFile struct {
	fsio.File
	data  []byte
	calls []int
	short int
}

func (r *recordingFile) WriteV(pieces [][]byte, off int64) (int, error) {
	n := 0
	for _, p := range pieces {
		if r.short > 0 && n+len(p) > r.short {
			p = p[:r.short-n]
		}
		copy(r.data[off+int64(n):], p)
		n += len(p)
	}
	r.calls = append(r.calls, n)
	return n, nil
}

// TestPwritevWindows: a chunk larger than maxWrite (a 1 MiB frame, or
// gathered frames) is written in windows of at most maxWrite bytes, short
// writes inside a window are resumed, and the caller's pieces are left as
// they were.
func TestPwritevWindows(t *testing.T) {
	data := make([]byte, 1<<20+12345)
	for i := range data {
		data[i] = byte(i * 31)
	}
	for _, short := range []int{0, 100 << 10} {
		pieces := [][]byte{data[:7], {}, data[7 : 300<<10], data[300<<10 : 1<<20], data[1<<20:]}
		keep := append([][]byte(nil), pieces...)
		f := &recordingFile{data: make([]byte, len(data)+5), short: short}
		if err := pwritev(f, pieces, 5); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(f.data[5:], data) {
			t.Fatalf("short %d: pwritev wrote other bytes", short)
		}
		for _, n := range f.calls {
			if n > maxWrite {
				t.Fatalf("short %d: one pwritev of %d bytes, above maxWrite %d (calls %v)", short, n, maxWrite, f.calls)
			}
		}
		for i := range pieces {
			if len(pieces[i]) != len(keep[i]) {
				t.Fatalf("short %d: caller's piece %d changed length", short, i)
			}
		}
	}
}

// TestSyncDue: nothing is due while everything is synced or the policy is
// not an interval; applied bytes make a sync due one Interval after the
// last, and a sync clears it.
func TestSyncDue(t *testing.T) {
	lay := newTestLayout(64<<10, true)
	dir := t.TempDir()
	a, err := Open(nil, filepath.Join(dir, "seg"), filepath.Join(dir, "state"), lay, Options{Sync: SyncInterval, Interval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if _, pending := a.SyncDue(); pending {
		t.Fatal("an empty applier has a sync due")
	}
	before := time.Now()
	if err := a.Apply(0, []byte("abc")); err != nil {
		t.Fatal(err)
	}
	due, pending := a.SyncDue()
	if !pending || due.Before(before.Add(-time.Second).Add(time.Hour)) || due.After(time.Now().Add(time.Hour)) {
		t.Fatalf("after Apply: due %v, pending %v; want pending about an hour after the last sync", due, pending)
	}
	if err := a.Sync(); err != nil {
		t.Fatal(err)
	}
	if _, pending := a.SyncDue(); pending {
		t.Fatal("a sync is due right after Sync")
	}
}
