package applier

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest"
	"go.uber.org/zap/zaptest/observer"

	"github.com/hasidecar/hasidecar/plugins"
	"github.com/hasidecar/hasidecar/plugins/fsio/fsiotest"
)

// segGlob matches the test layouts' segment files (20-digit names) and no
// state file.
const segGlob = "[0-9]*"

// rig is an applier's directories on real files, a fault-injecting file
// system over them, and the log lines it wrote.
type rig struct {
	t          *testing.T
	l          plugins.Layout
	root       string
	dst, state string
	fs         *fsiotest.FS
	logs       *observer.ObservedLogs
	log        *zap.Logger
	srcs       int
}

func newRig(t *testing.T, l plugins.Layout) *rig {
	root := t.TempDir()
	core, logs := observer.New(zapcore.DebugLevel)
	log := zap.New(zapcore.NewTee(zaptest.NewLogger(t).Core(), core))
	return &rig{t: t, l: l, root: root, dst: filepath.Join(root, "dst"), state: filepath.Join(root, "state"),
		fs: fsiotest.New(nil, 1), logs: logs, log: log}
}

// open opens the applier through the faulty file system.
func (r *rig) open(opts Options) *Applier {
	r.t.Helper()
	opts.FS = r.fs
	a, err := Open(r.log, r.dst, r.state, r.l, opts)
	if err != nil {
		r.t.Fatalf("Open: %v", err)
	}
	return a
}

// reopen abandons a as SIGKILL would and opens the directories again on the
// plain file system (no fault left).
func (r *rig) reopen(a *Applier, opts Options) *Applier {
	r.t.Helper()
	a.crash()
	b, err := Open(r.log, r.dst, r.state, r.l, opts)
	if err != nil {
		r.t.Fatalf("reopen: %v", err)
	}
	if b.Synced() != b.End() {
		r.t.Fatalf("reopened: synced %d, end %d", b.Synced(), b.End())
	}
	return b
}

// compare fails unless the slave directory is a byte-for-byte copy of the
// master's payload [0, end).
func (r *rig) compare(end int64) {
	r.t.Helper()
	r.srcs++
	src := filepath.Join(r.root, "src"+strconv.Itoa(r.srcs))
	if err := os.Mkdir(src, 0o755); err != nil {
		r.t.Fatal(err)
	}
	writeSource(r.t, r.l, src, 0, end)
	sameDir(r.t, src, r.dst)
}

// logged counts the log lines with message msg at level lvl.
func (r *rig) logged(lvl zapcore.Level, msg string) int {
	return r.logs.Filter(func(e observer.LoggedEntry) bool { return e.Level == lvl && e.Message == msg }).Len()
}

// wantIOError fails unless err is an *IOError of operation op wrapping want.
func wantIOError(t *testing.T, err error, op string, want error) {
	t.Helper()
	var ioe *IOError
	if !errors.As(err, &ioe) || ioe.Op != op || !errors.Is(err, want) {
		t.Fatalf("error %v: want an IOError %q wrapping %v", err, op, want)
	}
}

// wantState fails unless End and Synced are as given.
func wantState(t *testing.T, a *Applier, end, synced int64) {
	t.Helper()
	if a.End() != end || a.Synced() != synced {
		t.Fatalf("end %d synced %d, want end %d synced %d", a.End(), a.Synced(), end, synced)
	}
}

// pieces cuts payload [off, off+n) into k pieces of about equal size.
func pieces(off, n int64, k int) [][]byte {
	b := payload(off, off+n)
	var out [][]byte
	step := (len(b) + k - 1) / k
	for len(b) > 0 {
		m := min(step, len(b))
		out = append(out, b[:m])
		b = b[m:]
	}
	return out
}
