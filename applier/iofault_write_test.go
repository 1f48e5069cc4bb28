package applier

import (
	"bytes"
	"io"
	"syscall"
	"testing"

	"go.uber.org/zap/zapcore"

	"github.com/hasidecar/hasidecar/plugins/fsio/fsiotest"
)

// TestApplyFails: a chunk whose write (EIO, ENOSPC), segment creation or
// preallocation fails is refused with End unchanged, fails again while the
// fault lasts, and applies from the same pieces once it clears.
func TestApplyFails(t *testing.T) {
	for _, l := range layouts(seg) {
		for _, tc := range []struct {
			name  string
			fault fsiotest.Fault
			op    string
			at    int64 // the failing chunk's offset
		}{
			{"write EIO", fsiotest.Fault{Ops: fsiotest.OpWrite, Err: syscall.EIO}, "write", 5000},
			{"write ENOSPC", fsiotest.Fault{Ops: fsiotest.OpWrite, Err: syscall.ENOSPC}, "write", 5000},
			{"create ENOSPC", fsiotest.Fault{Ops: fsiotest.OpOpen, Err: syscall.ENOSPC}, "create", seg},
			{"preallocate ENOSPC", fsiotest.Fault{Ops: fsiotest.OpTruncate, Err: syscall.ENOSPC}, "preallocate", seg},
		} {
			if tc.op == "preallocate" && !l.Info().Preallocated {
				continue
			}
			for _, k := range []int{1, 3} {
				t.Run(l.Info().Name+"/"+tc.name, func(t *testing.T) {
					r := newRig(t, l)
					a := r.open(Options{Sync: SyncInterval})
					stream(t, a, 0, tc.at, 4096)
					f := tc.fault
					f.Path = segGlob
					inj := r.fs.Inject(f)
					p := pieces(tc.at, 3000, k)
					for range 2 {
						wantIOError(t, a.ApplyV(tc.at, p), tc.op, f.Err)
						wantState(t, a, tc.at, 0)
					}
					inj.Remove()
					if err := a.ApplyV(tc.at, p); err != nil {
						t.Fatal(err)
					}
					stream(t, a, tc.at+3000, 2*seg, 4096)
					if err := a.Close(); err != nil {
						t.Fatal(err)
					}
					r.compare(2 * seg)
				})
			}
		}
	}
}

// TestShortWrite: pwritev writes the rest after a short count; a write that
// stops making progress, or whose rest fails, is refused with End
// unchanged, and the same pieces apply afterwards unchanged.
func TestShortWrite(t *testing.T) {
	for _, l := range layouts(seg) {
		t.Run(l.Info().Name, func(t *testing.T) {
			r := newRig(t, l)
			a := r.open(Options{Sync: SyncNone})
			stream(t, a, 0, 1000, 1000)
			p := pieces(1000, 3000, 4)
			want := bytes.Join(p, nil)
			// Once short, then whole: the rest is written, nothing is lost.
			inj := r.fs.Inject(fsiotest.Fault{Ops: fsiotest.OpWrite, Path: segGlob, Short: true, Times: 1})
			if err := a.ApplyV(1000, p); err != nil {
				t.Fatal(err)
			}
			if inj.Hits() != 1 || a.End() != 4000 {
				t.Fatalf("hits %d end %d, want 1 and 4000", inj.Hits(), a.End())
			}
			// Short for ever: the count halves down to zero.
			inj = r.fs.Inject(fsiotest.Fault{Ops: fsiotest.OpWrite, Path: segGlob, Short: true})
			p = pieces(4000, 3000, 4)
			wantIOError(t, a.ApplyV(4000, p), "write", io.ErrShortWrite)
			wantState(t, a, 4000, 0)
			inj.Remove()
			// Short, then the device is full.
			r.fs.Inject(fsiotest.Fault{Ops: fsiotest.OpWrite, Path: segGlob, Short: true, Times: 1})
			full := r.fs.Inject(fsiotest.Fault{Ops: fsiotest.OpWrite, Path: segGlob, Nth: 2, Err: syscall.ENOSPC})
			wantIOError(t, a.ApplyV(4000, p), "write", syscall.ENOSPC)
			wantState(t, a, 4000, 0)
			full.Remove()
			if got := bytes.Join(p, nil); !bytes.Equal(got, payload(4000, 7000)) || len(want) != 3000 {
				t.Fatal("ApplyV changed the caller's pieces")
			}
			if err := a.ApplyV(4000, p); err != nil {
				t.Fatal(err)
			}
			if err := a.Close(); err != nil {
				t.Fatal(err)
			}
			r.compare(7000)
		})
	}
}

// TestJournalWriteFails: while journal records cannot be written (the
// record's write or the truncation before a generation's first record
// fails), each chunk is synced before ApplyV returns (one WARN line), so the
// end a slave acknowledged survives a crash; when the journal works again
// (one INFO line) chunks are journaled, not synced, and survive a crash too.
func TestJournalWriteFails(t *testing.T) {
	for _, l := range layouts(seg) {
		for _, ops := range []fsiotest.Op{fsiotest.OpWrite, fsiotest.OpTruncate} {
			t.Run(l.Info().Name+"/"+ops.String(), func(t *testing.T) {
				testJournalWriteFails(t, newRig(t, l), ops)
			})
		}
	}
}

func testJournalWriteFails(t *testing.T, r *rig, ops fsiotest.Op) {
	a := r.open(Options{Sync: SyncNone})
	stream(t, a, 0, 2000, 1000)
	if err := a.Sync(); err != nil {
		t.Fatal(err)
	}
	if ops == fsiotest.OpTruncate {
		// A journal is truncated before its first record after Open (or a
		// rollback), when older records may follow.
		a = r.reopen(a, Options{Sync: SyncNone, FS: r.fs})
	}
	jf := r.fs.Inject(fsiotest.Fault{Ops: ops, Path: JournalName, Err: syscall.EIO})
	syncs := r.fs.Inject(fsiotest.Fault{Ops: fsiotest.OpSync, Path: segGlob}) // a probe
	applySynced(t, a, seg+500)
	if jf.Hits() < 10 || syncs.Seen() < 10 {
		t.Fatalf("journal faults %d, segment syncs %d: want one of each per chunk", jf.Hits(), syncs.Seen())
	}
	if n := r.logged(zapcore.WarnLevel, "journal append failed: syncing every chunk until it works again"); n != 1 {
		t.Fatalf("%d WARN lines, want 1", n)
	}
	acked := a.End()
	a = r.reopen(a, Options{Sync: SyncNone, FS: r.fs}) // the fault goes on
	wantState(t, a, acked, acked)
	applySynced(t, a, 2*seg+100)
	acked = a.End()
	jf.Remove()
	stream(t, a, acked, acked+4000, 1000)
	if a.End() != acked+4000 || a.Synced() != acked {
		t.Fatalf("journal works again: end %d synced %d, want %d and %d", a.End(), a.Synced(), acked+4000, acked)
	}
	if n := r.logged(zapcore.InfoLevel, "journal appends work again"); n != 1 {
		t.Fatalf("%d INFO lines, want 1", n)
	}
	a = r.reopen(a, Options{Sync: SyncNone})
	wantState(t, a, acked+4000, acked+4000)
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	r.compare(acked + 4000)
}

// applySynced applies 1000-byte chunks from End to end, cut at segment
// boundaries, and checks that each is synced when ApplyV returns.
func applySynced(t *testing.T, a *Applier, end int64) {
	t.Helper()
	for off := a.End(); off < end; {
		n := min(1000, end-off, seg-off%seg)
		if err := a.Apply(off, payload(off, off+n)); err != nil {
			t.Fatal(err)
		}
		off += n
		wantState(t, a, off, off) // acknowledged: synced, not journaled
	}
}
