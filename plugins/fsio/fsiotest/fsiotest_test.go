package fsiotest_test

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/hasidecar/hasidecar/plugins/fsio"
	"github.com/hasidecar/hasidecar/plugins/fsio/fsiotest"
)

func create(t *testing.T, e *fsiotest.FS, path string) fsio.File {
	t.Helper()
	f, err := e.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.Close() })
	return f
}

// TestNthAndTimes: a fault hits from its Nth matching call, Times calls at
// most; calls on other paths or operations neither hit nor count.
func TestNthAndTimes(t *testing.T) {
	dir := t.TempDir()
	e := fsiotest.New(nil, 1)
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	create(t, e, a)
	create(t, e, b)
	inj := e.Inject(fsiotest.Fault{Ops: fsiotest.OpStat, Path: "a", Nth: 2, Times: 2, Err: syscall.EIO})
	var got []bool
	for range 5 {
		_, err := e.Stat(a)
		got = append(got, errors.Is(err, syscall.EIO))
		if _, err := e.Stat(b); err != nil {
			t.Fatal(err)
		}
		if _, err := e.ReadDir(dir); err != nil {
			t.Fatal(err)
		}
	}
	want := []bool{false, true, true, false, false}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("hits %v, want %v", got, want)
		}
	}
	if inj.Seen() != 5 || inj.Hits() != 2 {
		t.Fatalf("seen %d hits %d, want 5 and 2", inj.Seen(), inj.Hits())
	}
	var pe *os.PathError
	inj = e.Inject(fsiotest.Fault{Ops: fsiotest.OpStat, Path: a, Err: syscall.ENOSPC})
	if _, err := e.Stat(a); !errors.As(err, &pe) || pe.Path != a || !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("full-path pattern: %v", err)
	}
	inj.Remove()
	if _, err := e.Stat(a); err != nil {
		t.Fatalf("after Remove: %v", err)
	}
}

// hitPattern records which of n stat calls a Prob fault hits.
func hitPattern(t *testing.T, seed uint64, n int) []bool {
	path := filepath.Join(t.TempDir(), "f")
	e := fsiotest.New(nil, seed)
	create(t, e, path)
	e.Inject(fsiotest.Fault{Ops: fsiotest.OpStat, Prob: 0.5, Err: syscall.EIO})
	out := make([]bool, n)
	for i := range out {
		_, err := e.Stat(path)
		out[i] = err != nil
	}
	return out
}

// TestProbSeeded: the same seed hits the same calls; another seed others.
func TestProbSeeded(t *testing.T) {
	a, b, c := hitPattern(t, 7, 64), hitPattern(t, 7, 64), hitPattern(t, 8, 64)
	same, hits := true, 0
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("seed 7 gave two patterns: %v and %v", a, b)
		}
		same = same && a[i] == c[i]
		if a[i] {
			hits++
		}
	}
	if same || hits == 0 || hits == len(a) {
		t.Fatalf("pattern %v (seed 8: %v): want some hits, differing by seed", a, c)
	}
}

// TestShortWrites: a short WriteV writes half and reports it without an
// error; a short WriteAt writes half and reports io.ErrShortWrite.
func TestShortWrites(t *testing.T) {
	e := fsiotest.New(nil, 1)
	f := create(t, e, filepath.Join(t.TempDir(), "f"))
	e.Inject(fsiotest.Fault{Ops: fsiotest.OpWrite, Short: true})
	n, err := f.WriteV([][]byte{[]byte("abc"), []byte("defgh")}, 0)
	if n != 4 || err != nil {
		t.Fatalf("WriteV = %d, %v; want 4, nil", n, err)
	}
	n, err = f.WriteAt([]byte("ABCDEF"), 4)
	if n != 3 || !errors.Is(err, io.ErrShortWrite) {
		t.Fatalf("WriteAt = %d, %v; want 3, io.ErrShortWrite", n, err)
	}
	e.Clear()
	b := make([]byte, 16)
	n, _ = f.ReadAt(b, 0)
	if got := string(b[:n]); got != "abcdABC" {
		t.Fatalf("file holds %q, want %q", got, "abcdABC")
	}
}

// TestDelayAndUnwrap: a Delay alone slows the call and lets it through; the
// wrapped file still yields its *os.File for mmap.
func TestDelayAndUnwrap(t *testing.T) {
	e := fsiotest.New(nil, 1)
	f := create(t, e, filepath.Join(t.TempDir(), "f"))
	e.Inject(fsiotest.Fault{Ops: fsiotest.OpSync, Delay: 30 * time.Millisecond})
	start := time.Now()
	if err := f.Datasync(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 30*time.Millisecond {
		t.Fatalf("Datasync took %v, want at least 30ms", d)
	}
	osf := fsio.OSFile(f)
	if osf == nil || osf.Fd() != f.Fd() {
		t.Fatalf("OSFile = %v", osf)
	}
	if s := (fsiotest.OpWrite | fsiotest.OpSync).String(); s != "write|sync" {
		t.Fatalf("Op.String = %q", s)
	}
}
