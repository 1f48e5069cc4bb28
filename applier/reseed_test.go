package applier

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestMoveAsideKeepsEveryByte: after MoveAside the replica reopens empty,
// and the aside directory holds the old segments (byte for byte), a
// foreign file, the checkpoint and the journal.
func TestMoveAsideKeepsEveryByte(t *testing.T) {
	const seg = 64 << 10
	for _, l := range layouts(seg) {
		t.Run(l.Info().Name, func(t *testing.T) {
			_, dst, state := dirs(t)
			a := openT(t, dst, state, l, Options{Sync: SyncEvery})
			stream(t, a, 0, 3*seg+123, 10000)
			if err := a.Close(); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dst, "foreign"), []byte("keep me"), 0o644); err != nil {
				t.Fatal(err)
			}
			before := dirFiles(t, dst)
			ckpt, err := os.ReadFile(filepath.Join(state, CheckpointName))
			if err != nil {
				t.Fatal(err)
			}
			aside, err := MoveAside(dst, state, "diverged at 12345/bad")
			if err != nil {
				t.Fatalf("MoveAside: %v", err)
			}
			base := filepath.Base(aside)
			if filepath.Dir(aside) != state || !strings.HasPrefix(base, AsidePrefix) || !strings.HasSuffix(base, "-diverged_at_12345_bad") {
				t.Fatalf("aside path %s", aside)
			}
			if got := dirFiles(t, dst); len(got) != 0 {
				t.Fatalf("segment directory still holds %v", keys(got))
			}
			moved := dirFiles(t, aside)
			if string(moved[CheckpointName]) != string(ckpt) {
				t.Fatalf("checkpoint not moved intact")
			}
			if !strings.Contains(string(moved[asideNote]), "diverged at 12345/bad") {
				t.Fatalf("note: %q", moved[asideNote])
			}
			if _, ok := moved[JournalName]; !ok {
				t.Fatalf("journal not moved: aside holds %v", keys(moved))
			}
			delete(moved, CheckpointName)
			delete(moved, JournalName)
			delete(moved, asideNote)
			for name, b := range before {
				if string(moved[name]) != string(b) {
					t.Fatalf("file %s not moved intact", name)
				}
			}
			if len(moved) != len(before) {
				t.Fatalf("aside holds %v, want %v", keys(moved), keys(before))
			}
			a = openT(t, dst, state, l, Options{Sync: SyncEvery})
			defer a.Close()
			if a.End() != 0 {
				t.Fatalf("reopened replica ends at %d, want empty", a.End())
			}
			stream(t, a, 5*seg, 5*seg+100, 100) // an empty replica accepts any start again
		})
	}
}

func TestMoveAsideRefusesWhileOpen(t *testing.T) {
	_, dst, state := dirs(t)
	a := openT(t, dst, state, newTestLayout(4096, true), Options{})
	defer a.Close()
	stream(t, a, 0, 5000, 1000)
	if _, err := MoveAside(dst, state, "busy"); !errors.Is(err, ErrBusy) {
		t.Fatalf("MoveAside with an open applier: %v, want ErrBusy", err)
	}
	if n := len(dirFiles(t, dst)); n != 2 {
		t.Fatalf("segment directory changed: %d files", n)
	}
}

func TestMoveAsideBadDirs(t *testing.T) {
	_, dst, _ := dirs(t)
	for _, state := range []string{dst, filepath.Join(dst, "state"), ""} {
		if _, err := MoveAside(dst, state, "x"); !errors.Is(err, ErrBadOptions) {
			t.Errorf("state %q: %v, want ErrBadOptions", state, err)
		}
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dst, CheckpointName), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := MoveAside(dst, dst+".state", "x"); !errors.Is(err, ErrBadOptions) {
		t.Errorf("checkpoint-named file in the segment directory: %v, want ErrBadOptions", err)
	}
}

// TestMoveAsideTwice: a second reseed in the same instant gets its own
// directory, never mixing with or overwriting the first.
func TestMoveAsideTwice(t *testing.T) {
	_, dst, state := dirs(t)
	now := time.Date(2024, 1, 2, 3, 4, 5, 6, time.UTC)
	if err := os.MkdirAll(state, 0o755); err != nil {
		t.Fatal(err)
	}
	p1, err := makeAsideDir(state, "", now)
	if err != nil {
		t.Fatal(err)
	}
	p2, err := makeAsideDir(state, "", now)
	if err != nil || p1 == p2 {
		t.Fatalf("second aside dir %s (%v), first %s", p2, err, p1)
	}
	if !strings.HasSuffix(p1, "-unspecified") {
		t.Fatalf("empty reason: %s", p1)
	}
	// A missing segment directory is nothing to move, not an error.
	if _, err := MoveAside(filepath.Join(dst, "none"), state, "empty"); err != nil {
		t.Fatalf("MoveAside of a missing directory: %v", err)
	}
}
