package applier

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"go.uber.org/zap/zapcore"

	"github.com/hasidecar/hasidecar/plugins/fsio/fsiotest"
)

// TestSyncEIO: EIO from the fdatasync of a segment (the pending one, the
// current one) or of the directory fails Sync, End falls back to Synced,
// a chunk at the old end is refused, the same chunks apply again, and a
// replica abandoned afterwards reopens with every byte.
func TestSyncEIO(t *testing.T) {
	for _, l := range layouts(seg) {
		for _, tc := range []struct {
			name string
			ops  fsiotest.Op
			path func(r *rig) string
		}{
			{"pending segment", fsiotest.OpSync, func(r *rig) string { return r.l.SegmentName(0) }},
			{"current segment", fsiotest.OpSync, func(r *rig) string { return r.l.SegmentName(seg) }},
			{"directory", fsiotest.OpSyncDir, func(r *rig) string { return r.dst }},
		} {
			t.Run(l.Info().Name+"/"+tc.name, func(t *testing.T) {
				r := newRig(t, l)
				a := r.open(Options{Sync: SyncNone})
				synced, end := int64(seg/2), int64(seg+seg/4)
				stream(t, a, 0, synced, 4096)
				if err := a.Sync(); err != nil {
					t.Fatal(err)
				}
				stream(t, a, synced, end, 4096)
				inj := r.fs.Inject(fsiotest.Fault{Ops: tc.ops, Path: tc.path(r), Err: syscall.EIO, Times: 1})
				wantIOError(t, a.Sync(), "sync", syscall.EIO)
				if inj.Hits() != 1 || r.logged(zapcore.WarnLevel, "sync failed: falling back to the last synced offset") != 1 {
					t.Fatalf("fault hits %d; want one hit and one WARN line", inj.Hits())
				}
				wantState(t, a, synced, synced)
				if err := a.Apply(end, payload(end, end+10)); !errors.Is(err, ErrOffsetMismatch) {
					t.Fatalf("chunk at the old end: %v, want ErrOffsetMismatch", err)
				}
				stream(t, a, synced, end, 4096) // the master resends
				if err := a.Sync(); err != nil {
					t.Fatal(err)
				}
				wantState(t, a, end, end)
				stream(t, a, end, end+5000, 1000)
				a = r.reopen(a, Options{Sync: SyncNone})
				wantState(t, a, end+5000, end+5000)
				if err := a.Close(); err != nil {
					t.Fatal(err)
				}
				r.compare(end + 5000)
			})
		}
	}
}

// TestSyncEIOThenCrash: a replica abandoned right after a failed sync
// reopens with at least what was synced, and every byte it claims is the
// master's.
func TestSyncEIOThenCrash(t *testing.T) {
	for _, l := range layouts(seg) {
		t.Run(l.Info().Name, func(t *testing.T) {
			r := newRig(t, l)
			a := r.open(Options{Sync: SyncNone})
			synced, end := int64(seg/3), int64(2*seg+100)
			stream(t, a, 0, synced, 4096)
			if err := a.Sync(); err != nil {
				t.Fatal(err)
			}
			stream(t, a, synced, end, 4096)
			r.fs.Inject(fsiotest.Fault{Ops: fsiotest.OpSync, Path: segGlob, Err: syscall.EIO})
			wantIOError(t, a.Sync(), "sync", syscall.EIO)
			wantState(t, a, synced, synced)
			a = r.reopen(a, Options{Sync: SyncNone})
			// After a failed fdatasync the page cache may hold bytes that
			// never reach the disk: the journal must not prove them.
			got := a.End()
			if got != synced {
				t.Fatalf("reopened at %d, want the synced end %d (end was %d)", got, synced, end)
			}
			if err := a.Close(); err != nil {
				t.Fatal(err)
			}
			r.compare(got)
		})
	}
}

// TestSyncEveryEIO: under SyncEvery the failed sync fails ApplyV itself,
// End stays where it was (an empty applier stays empty, its first file
// forgotten), and the chunk applies again once the fault clears.
func TestSyncEveryEIO(t *testing.T) {
	for _, l := range layouts(seg) {
		t.Run(l.Info().Name, func(t *testing.T) {
			r := newRig(t, l)
			a := r.open(Options{Sync: SyncEvery})
			inj := r.fs.Inject(fsiotest.Fault{Ops: fsiotest.OpSync, Path: segGlob, Err: syscall.EIO})
			wantIOError(t, a.Apply(1000, payload(1000, 2000)), "sync", syscall.EIO)
			wantState(t, a, 0, 0) // empty again: any first offset is accepted
			inj.Remove()
			stream(t, a, 0, 3000, 1000)
			inj = r.fs.Inject(fsiotest.Fault{Ops: fsiotest.OpSync, Path: segGlob, Err: syscall.EIO})
			wantIOError(t, a.Apply(3000, payload(3000, 4000)), "sync", syscall.EIO)
			wantState(t, a, 3000, 3000)
			inj.Remove()
			stream(t, a, 3000, seg+10, 1000)
			wantState(t, a, seg+10, seg+10)
			if err := a.Close(); err != nil {
				t.Fatal(err)
			}
			r.compare(seg + 10)
		})
	}
}

// TestCheckpointWriteFails: a checkpoint write that fails, writes half a
// slot (torn) or is not synced rolls End back to the last checkpoint; the
// replica abandoned then reopens at a synced end holding only the master's
// bytes, and one kept open applies the chunks again.
func TestCheckpointWriteFails(t *testing.T) {
	for _, l := range layouts(seg) {
		for _, tc := range []struct {
			name  string
			fault fsiotest.Fault
			op    string
		}{
			{"write EIO", fsiotest.Fault{Ops: fsiotest.OpWrite, Err: syscall.EIO}, "write checkpoint"},
			{"torn slot", fsiotest.Fault{Ops: fsiotest.OpWrite, Short: true, Err: syscall.ENOSPC}, "write checkpoint"},
			{"sync EIO", fsiotest.Fault{Ops: fsiotest.OpSync, Err: syscall.EIO}, "sync checkpoint"},
		} {
			for _, crash := range []bool{false, true} {
				t.Run(l.Info().Name+"/"+tc.name+"/crash="+strconv.FormatBool(crash), func(t *testing.T) {
					testCheckpointWriteFails(t, newRig(t, l), tc.fault, tc.op, crash)
				})
			}
		}
	}
}

func testCheckpointWriteFails(t *testing.T, r *rig, f fsiotest.Fault, op string, crash bool) {
	a := r.open(Options{Sync: SyncNone})
	synced, end := int64(seg/2), int64(seg+777)
	stream(t, a, 0, synced, 4096)
	if err := a.Sync(); err != nil {
		t.Fatal(err)
	}
	stream(t, a, synced, end, 4096)
	// A checkpoint created at Open keeps its temporary name while open.
	f.Path, f.Times = CheckpointName+"*", 1
	inj := r.fs.Inject(f)
	wantIOError(t, a.Sync(), op, f.Err)
	if inj.Hits() != 1 || r.logged(zapcore.WarnLevel, "checkpoint write failed: falling back to the last synced offset") != 1 {
		t.Fatalf("fault hits %d; want one hit and one WARN line", inj.Hits())
	}
	wantState(t, a, synced, synced)
	if crash {
		a = r.reopen(a, Options{Sync: SyncNone})
		got := a.End()
		if got < synced || got > end {
			t.Fatalf("reopened at %d, want within [%d, %d]", got, synced, end)
		}
		if st, _, err := readCheckpoint(r.fs, r.state); err != nil || st.End != got {
			t.Fatalf("checkpoint after reopen: end %d (%v), want %d", st.End, err, got)
		}
		end = got
	} else {
		stream(t, a, synced, end, 4096)
		if err := a.Sync(); err != nil {
			t.Fatal(err)
		}
	}
	wantState(t, a, end, end)
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	r.compare(end)
}

// TestSlowSync: a sync slower than Options.SlowSync is logged with how long
// it took, and nothing else changes.
func TestSlowSync(t *testing.T) {
	l := newTestLayout(seg, true)
	r := newRig(t, l)
	a := r.open(Options{Sync: SyncNone, SlowSync: 20 * time.Millisecond})
	stream(t, a, 0, 5000, 1000)
	inj := r.fs.Inject(fsiotest.Fault{Ops: fsiotest.OpSync, Path: segGlob, Delay: 50 * time.Millisecond})
	if err := a.Sync(); err != nil {
		t.Fatal(err)
	}
	wantState(t, a, 5000, 5000)
	slow := r.logs.FilterMessage("slow sync").All()
	if inj.Hits() != 1 || len(slow) != 1 || slow[0].Level != zapcore.WarnLevel {
		t.Fatalf("fault hits %d, slow sync lines %v: want one WARN", inj.Hits(), slow)
	}
	if took, ok := slow[0].ContextMap()["took"].(time.Duration); !ok || took < 50*time.Millisecond {
		t.Fatalf("slow sync took %v, want at least 50ms", slow[0].ContextMap()["took"])
	}
	inj.Remove()
	stream(t, a, 5000, 9000, 1000)
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	r.compare(9000)
}

// TestOpenCheckpointCreateFails: when the first checkpoint cannot be made
// durable (the journal's truncation or sync before it, the temporary file's
// size, sync or rename, the directory's sync), Open fails with the cause,
// leaves no temporary file, and the next Open starts empty.
func TestOpenCheckpointCreateFails(t *testing.T) {
	for _, tc := range []struct {
		name string
		ops  fsiotest.Op
		path string
	}{
		{"journal truncate", fsiotest.OpTruncate, JournalName},
		{"journal sync", fsiotest.OpSync, JournalName},
		{"size", fsiotest.OpTruncate, CheckpointName + ".tmp"},
		{"sync", fsiotest.OpSync, CheckpointName + ".tmp"},
		{"rename", fsiotest.OpRename, CheckpointName + ".tmp"},
		{"directory sync", fsiotest.OpSyncDir, "state"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, newTestLayout(seg, true))
			inj := r.fs.Inject(fsiotest.Fault{Ops: tc.ops, Path: tc.path, Err: syscall.EIO})
			if _, err := Open(r.log, r.dst, r.state, r.l, Options{FS: r.fs}); !errors.Is(err, syscall.EIO) || inj.Hits() != 1 {
				t.Fatalf("Open: %v after %d hits, want EIO after 1", err, inj.Hits())
			}
			if _, err := os.Stat(filepath.Join(r.state, CheckpointName+".tmp")); !errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("temporary checkpoint left behind: %v", err)
			}
			inj.Remove()
			a := r.open(Options{})
			wantState(t, a, 0, 0)
			stream(t, a, 0, 3000, 1000)
			if err := a.Close(); err != nil {
				t.Fatal(err)
			}
			r.compare(3000)
		})
	}
}

// shortWriter returns a short count without an error, which io.WriterAt
// forbids: writeAt must not take it for a whole write.
type shortWriter struct{}

func (shortWriter) WriteAt(p []byte, _ int64) (int, error) { return len(p) / 2, nil }

func TestWriteAtShortCount(t *testing.T) {
	if err := writeAt(shortWriter{}, make([]byte, 8), 0); !errors.Is(err, io.ErrShortWrite) {
		t.Fatalf("writeAt: %v, want io.ErrShortWrite", err)
	}
}
