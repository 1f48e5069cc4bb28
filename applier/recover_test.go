package applier

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"go.uber.org/zap/zaptest"

	"github.com/hasidecar/hasidecar/plugins"
	"github.com/hasidecar/hasidecar/plugins/fsio"
)

// checkTail asserts that End's segment holds nothing after end: zeros up to
// the full size (preallocated) or no bytes at all (growing), and that no
// segment file lies after it.
func checkTail(t *testing.T, l plugins.Layout, dir string, end int64) {
	t.Helper()
	info := l.Info()
	last := plugins.SegmentStart(info, end-1)
	b, err := os.ReadFile(filepath.Join(dir, l.SegmentName(last)))
	if err != nil {
		t.Fatal(err)
	}
	pos := int(end - last)
	if !info.Preallocated {
		if len(b) != pos {
			t.Fatalf("segment %d: size %d, want %d", last, len(b), pos)
		}
	} else {
		if int64(len(b)) != info.SegmentSize {
			t.Fatalf("segment %d: size %d, want %d", last, len(b), info.SegmentSize)
		}
		for i := pos; i < len(b); i++ {
			if b[i] != 0 {
				t.Fatalf("segment %d: byte %d is %d after end %d", last, i, b[i], pos)
			}
		}
	}
	for s := last + info.SegmentSize; s < last+10*info.SegmentSize; s += info.SegmentSize {
		if _, err := os.Stat(filepath.Join(dir, l.SegmentName(s))); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("segment %d survived recovery: %v", s, err)
		}
	}
}

// TestCrashRecovery: after a crash the journal proves every applied
// chunk; without it (lost with its host, say) the checkpoint's end is all
// that survives. Either way the tail after the recovered end is discarded.
func TestCrashRecovery(t *testing.T) {
	for _, l := range layouts(seg) {
		for _, synced := range []int64{seg + seg/3, 2 * seg} {
			for _, journal := range []bool{true, false} {
				t.Run(l.Info().Name, func(t *testing.T) {
					testCrashRecovery(t, l, synced, journal)
				})
			}
		}
	}
}

func testCrashRecovery(t *testing.T, l plugins.Layout, synced int64, journal bool) {
	src, dst, state := dirs(t)
	end, applied := int64(5*seg+99), int64(4*seg+500)
	writeSource(t, l, src, 0, end)
	a := openT(t, dst, state, l, Options{Sync: SyncNone})
	stream(t, a, 0, synced, 3000)
	if err := a.Sync(); err != nil {
		t.Fatal(err)
	}
	stream(t, a, synced, applied, 3000)
	a.crash()
	want := applied
	if !journal {
		if err := os.Remove(filepath.Join(state, JournalName)); err != nil {
			t.Fatal(err)
		}
		want = synced
	}

	b := openT(t, dst, state, l, Options{Sync: SyncNone})
	if b.End() != want || b.Synced() != want {
		t.Fatalf("recovered end %d synced %d, want %d", b.End(), b.Synced(), want)
	}
	checkTail(t, l, dst, want)
	stream(t, b, want, end, 3000)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	sameDir(t, src, dst)
}

// slotSeqs decodes both checkpoint slots, -1 for an invalid one.
func slotSeqs(t *testing.T, b []byte) [2]int64 {
	var seqs [2]int64
	for i := range seqs {
		s, err := decodeSlot(b[i*slotStride:])
		seqs[i] = int64(s.Seq)
		if err != nil {
			seqs[i] = -1
		}
	}
	return seqs
}

func TestTornCheckpointSlot(t *testing.T) {
	l := newTestLayout(seg, true)
	src, dst, state := dirs(t)
	writeSource(t, l, src, 0, 2*seg)
	a := openT(t, dst, state, l, Options{Sync: SyncNone})
	stream(t, a, 0, 1000, 1000)
	if err := a.Sync(); err != nil {
		t.Fatal(err)
	}
	stream(t, a, 1000, seg+50, 1000)
	if err := a.Sync(); err != nil {
		t.Fatal(err)
	}
	a.crash()

	path := filepath.Join(state, CheckpointName)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	seqs := slotSeqs(t, b)
	newer := 0
	if seqs[1] > seqs[0] {
		newer = 1
	}
	if seqs[1-newer] < 0 {
		t.Fatalf("older slot invalid: seqs %v", seqs)
	}
	// Tear the newer slot: its second half never reached the disk. The
	// journal goes too, or it would prove the bytes the torn slot recorded.
	if err := os.Remove(filepath.Join(state, JournalName)); err != nil {
		t.Fatal(err)
	}
	clear(b[newer*slotStride+slotSize/2 : newer*slotStride+slotSize])
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	r := openT(t, dst, state, l, Options{Sync: SyncNone})
	if r.End() != 1000 {
		t.Fatalf("end %d after a torn newer slot, want 1000", r.End())
	}
	checkTail(t, l, dst, 1000)
	stream(t, r, 1000, 2*seg, 4096)
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	sameDir(t, src, dst)

	// Both slots damaged: refuse rather than guess.
	b, _ = os.ReadFile(path)
	b[3] ^= 0xff
	b[slotStride+3] ^= 0xff
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(zaptest.NewLogger(t), dst, state, l, Options{}); !errors.Is(err, ErrCorruptCheckpoint) {
		t.Fatalf("Open with both slots corrupt: %v", err)
	}
}

func TestMissingData(t *testing.T) {
	l := newTestLayout(seg, false)
	_, dst, state := dirs(t)
	a := openT(t, dst, state, l, Options{})
	stream(t, a, 0, seg+10, 4096)
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dst, l.SegmentName(seg))
	if err := os.Truncate(p, 5); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(zaptest.NewLogger(t), dst, state, l, Options{}); !errors.Is(err, ErrMissingData) {
		t.Fatalf("short segment: %v", err)
	}
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(zaptest.NewLogger(t), dst, state, l, Options{}); !errors.Is(err, ErrMissingData) || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing segment: %v", err)
	}
}

// TestScanWithoutCheckpoint seeds the slave with a copy of the master's
// directory and no checkpoint: Open recovers by scanning the newest run of
// contiguous segments.
func TestScanWithoutCheckpoint(t *testing.T) {
	for _, l := range layouts(seg) {
		t.Run(l.Info().Name, func(t *testing.T) {
			src, dst, state := dirs(t)
			end := int64(6*seg + 300)
			writeSource(t, l, src, 0, end)
			// The slave holds an old segment, a gap, then segments 3..5 of
			// which segment 5 is partly written.
			if err := os.MkdirAll(dst, 0o755); err != nil {
				t.Fatal(err)
			}
			writeSource(t, l, dst, 0, seg)
			writeSource(t, l, dst, 3*seg, 5*seg+1000)
			a := openT(t, dst, state, l, Options{Sync: SyncNone})
			if a.Base() != 3*seg || a.End() != 5*seg+1000 || a.Synced() != a.End() {
				t.Fatalf("base %d end %d synced %d", a.Base(), a.End(), a.Synced())
			}
			if err := a.Close(); err != nil {
				t.Fatal(err)
			}
			// Now the checkpoint exists; finish from it.
			a = openT(t, dst, state, l, Options{Sync: SyncNone})
			stream(t, a, a.End(), end, 32<<10)
			if err := a.Close(); err != nil {
				t.Fatal(err)
			}
			// The gap stays a gap on the slave.
			for s := int64(seg); s < 3*seg; s += seg {
				if err := os.Remove(filepath.Join(src, l.SegmentName(s))); err != nil {
					t.Fatal(err)
				}
			}
			sameDir(t, src, dst)
		})
	}
}

// TestUnsyncedFirstChunks: the checkpoint records nothing but the first
// chunks reached the directory before a crash, and the journal is lost.
// Scanning keeps what validates.
func TestUnsyncedFirstChunks(t *testing.T) {
	l := newTestLayout(seg, true)
	_, dst, stDir := dirs(t)
	// An empty checkpoint whose only valid slot has a high sequence number:
	// the scan's checkpoint must outnumber it.
	if err := os.MkdirAll(stDir, 0o755); err != nil {
		t.Fatal(err)
	}
	file := make([]byte, checkpointSize)
	encodeSlot(file, state{Seq: 10, Info: l.info})
	if err := os.WriteFile(filepath.Join(stDir, CheckpointName), file, 0o644); err != nil {
		t.Fatal(err)
	}
	a := openT(t, dst, stDir, l, Options{Sync: SyncNone})
	stream(t, a, 0, 5000, 1000)
	a.crash()
	if err := os.Remove(filepath.Join(stDir, JournalName)); err != nil {
		t.Fatal(err)
	}
	b := openT(t, dst, stDir, l, Options{Sync: SyncNone})
	defer b.Close()
	if b.End() != 5000 || b.Synced() != 5000 {
		t.Fatalf("end %d synced %d", b.End(), b.Synced())
	}
	st, _, err := readCheckpoint(fsio.OS(), stDir)
	if err != nil || st.End != 5000 {
		t.Fatalf("checkpoint after the scan: %+v, %v", st, err)
	}
}

// TestEmptyScanRemovesFiles: segment files without valid data leave an
// empty applier and no stale files.
func TestEmptyScanRemovesFiles(t *testing.T) {
	l := newTestLayout(seg, true)
	_, dst, state := dirs(t)
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dst, l.SegmentName(seg))
	if err := os.WriteFile(p, make([]byte, seg), 0o644); err != nil {
		t.Fatal(err)
	}
	a := openT(t, dst, state, l, Options{})
	defer a.Close()
	if a.End() != 0 {
		t.Fatalf("end %d", a.End())
	}
	if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("empty segment kept: %v", err)
	}
}

func TestNonZeroRange(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "f"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	const size = 8 << 20
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	if lo, hi, err := nonZeroRange(f, 0, size); err != nil || lo != hi {
		t.Fatalf("sparse file: %d %d %v", lo, hi, err)
	}
	for _, at := range []int64{5000, 3<<20 + 7} {
		if _, err := f.WriteAt([]byte{9}, at); err != nil {
			t.Fatal(err)
		}
	}
	lo, hi, err := nonZeroRange(f, 100, size)
	if err != nil || lo > 5000 || lo < 100 || hi <= 3<<20+7 || hi > 3<<20+zeroBlock {
		t.Fatalf("range [%d, %d) %v", lo, hi, err)
	}
	if err := writeZeros(f, lo, hi); err != nil {
		t.Fatal(err)
	}
	if lo, hi, err := nonZeroRange(f, 0, size); err != nil || lo != hi {
		t.Fatalf("after zeroing: %d %d %v", lo, hi, err)
	}
}
