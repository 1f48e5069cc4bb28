package applier

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/zap/zaptest"
)

// TestCutAtKeepsTailAside cuts a replica in the middle of a segment, at a
// segment start and in the last segment, for both kinds of layout: the cut
// bytes are kept byte for byte, the directory then equals a source that
// ends at the cut, and the cut survives a reopen and continues.
func TestCutAtKeepsTailAside(t *testing.T) {
	const size, end = 4096, 3*4096 + 1000
	for _, l := range layouts(size) {
		for _, at := range []int64{4096 + 300, 2 * 4096, 3*4096 + 10} {
			t.Run(fmt.Sprintf("%s/at-%d", l.Info().Name, at), func(t *testing.T) {
				src, dst, st := dirs(t)
				a := openT(t, dst, st, l, Options{Sync: SyncNone})
				stream(t, a, 0, end, 700) // unsynced: CutAt syncs first
				cut, err := a.CutAt(at, "test")
				if err != nil {
					t.Fatalf("CutAt(%d): %v", at, err)
				}
				if a.End() != at || a.Synced() != at || cut.Bytes != end-at || cut.OldEnd != end {
					t.Fatalf("after cut: end %d synced %d, cut %+v", a.End(), a.Synced(), cut)
				}
				checkKept(t, l.Info().SegmentSize, cut, at, end)
				writeSource(t, l, src, 0, at)
				sameDir(t, src, dst)
				// The applier continues from the cut, and a reopen keeps it.
				stream(t, a, at, end, 500)
				if err := a.Close(); err != nil {
					t.Fatal(err)
				}
				a = openT(t, dst, st, l, Options{})
				defer a.Close()
				if a.End() != end {
					t.Fatalf("reopened end %d, want %d", a.End(), end)
				}
				os.RemoveAll(src)
				os.Mkdir(src, 0o755)
				writeSource(t, l, src, 0, end)
				sameDir(t, src, dst)
			})
		}
	}
}

// checkKept compares every file of the cut directory with the payload and
// info.json with the cut.
func checkKept(t *testing.T, segSize int64, cut Cut, at, end int64) {
	t.Helper()
	if !strings.HasPrefix(filepath.Base(cut.Dir), CutPrefix) {
		t.Fatalf("cut directory %s", cut.Dir)
	}
	var total int64
	for _, s := range cut.Segments {
		b, err := os.ReadFile(filepath.Join(cut.Dir, s.Name))
		if err != nil {
			t.Fatal(err)
		}
		if s.From < at || s.To > end || s.From/segSize != (s.To-1)/segSize || !bytes.Equal(b, payload(s.From, s.To)) {
			t.Fatalf("kept %s [%d, %d): %d bytes, not the payload", s.Name, s.From, s.To, len(b))
		}
		total += s.To - s.From
	}
	if total != end-at {
		t.Fatalf("kept %d bytes, want %d", total, end-at)
	}
	raw, err := os.ReadFile(filepath.Join(cut.Dir, CutInfoName))
	if err != nil {
		t.Fatal(err)
	}
	var got Cut
	if err := json.Unmarshal(raw, &got); err != nil || got.At != at || got.OldEnd != end || len(got.Segments) != len(cut.Segments) {
		t.Fatalf("info.json %s: %+v, %v", raw, got, err)
	}
}

// TestCutAtRefuses checks the offsets CutAt refuses, touching nothing.
func TestCutAtRefuses(t *testing.T) {
	_, dst, st := dirs(t)
	a := openT(t, dst, st, newTestLayout(4096, true), Options{Sync: SyncNone})
	defer a.Close()
	if _, err := a.CutAt(10, "empty"); !errors.Is(err, ErrCutRange) {
		t.Fatalf("cut of an empty applier: %v", err)
	}
	stream(t, a, 100, 5000, 1000)
	for _, at := range []int64{100, 50, 5001} {
		if _, err := a.CutAt(at, "bad"); !errors.Is(err, ErrCutRange) {
			t.Fatalf("CutAt(%d): %v, want ErrCutRange", at, err)
		}
	}
	if cut, err := a.CutAt(5000, "nothing"); err != nil || cut.Dir != "" || cut.Bytes != 0 {
		t.Fatalf("CutAt(End) = %+v, %v", cut, err)
	}
	ents, _ := os.ReadDir(st)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), CutPrefix) {
			t.Fatalf("a refused cut left %s", e.Name())
		}
	}
	if a.End() != 5000 {
		t.Fatalf("end %d", a.End())
	}
}

// TestCutAtCrashAfterCheckpoint stops a cut right after its checkpoint
// write (the tail still on disk): Open finishes it as a recovery.
func TestCutAtCrashAfterCheckpoint(t *testing.T) {
	for _, l := range layouts(4096) {
		t.Run(l.Info().Name, func(t *testing.T) {
			src, dst, st := dirs(t)
			a := openT(t, dst, st, l, Options{Sync: SyncNone})
			stream(t, a, 0, 9000, 1000)
			cut := Cut{At: 5000, OldEnd: 9000}
			a.mu.Lock()
			if err := a.syncLocked(); err != nil {
				t.Fatal(err)
			}
			if err := a.keepCut(&cut); err != nil {
				t.Fatal(err)
			}
			if err := a.ckpt.write(state{Base: a.base, End: 5000, Info: a.info}); err != nil {
				t.Fatal(err)
			}
			a.mu.Unlock()
			a.crash()
			b, err := Open(zaptest.NewLogger(t), dst, st, l, Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			if b.End() != 5000 {
				t.Fatalf("recovered end %d", b.End())
			}
			writeSource(t, l, src, 0, 5000)
			sameDir(t, src, dst)
			checkKept(t, 4096, cut, 5000, 9000)
		})
	}
}
