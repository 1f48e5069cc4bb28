package applier

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"go.uber.org/zap/zaptest"

	"github.com/hasidecar/hasidecar/plugins"
)

// testLayout is a tiny layout for tests: names are 20-digit start offsets;
// every payload byte is non-zero, so in a preallocated segment the valid
// data ends at the first zero byte, and in a growing one at the file's size.
type testLayout struct{ info plugins.Info }

func newTestLayout(size int64, prealloc bool) testLayout {
	name := "test-raw"
	if prealloc {
		name = "test-prealloc"
	}
	return testLayout{plugins.Info{Name: name, SegmentSize: size, Preallocated: prealloc}}
}

func (l testLayout) Info() plugins.Info { return l.info }

func (l testLayout) SegmentName(start int64) string { return plugins.OffsetName(start) }

func (l testLayout) ParseName(name string) (int64, bool) { return plugins.ParseOffsetName(name) }

func (l testLayout) Scan(path string, start, from int64) (plugins.Scan, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return plugins.Scan{}, err
	}
	end := start + int64(len(b))
	if l.info.Preallocated {
		if i := bytes.IndexByte(b[from-start:], 0); i >= 0 {
			end = from + int64(i)
		}
	}
	full := end == start+l.info.SegmentSize
	return plugins.Scan{End: end, Stable: end, Full: full}, nil
}

func (l testLayout) IsBoundary(string, int64, int64) (bool, error) { return true, nil }

var _ plugins.Layout = testLayout{}

// payload returns the deterministic, never-zero bytes of [from, to).
func payload(from, to int64) []byte {
	b := make([]byte, to-from)
	for i := range b {
		o := from + int64(i)
		b[i] = byte(1 + (o*7+o>>9)%251)
	}
	return b
}

// layouts returns a preallocated and a growing test layout of segment size.
func layouts(size int64) []plugins.Layout {
	return []plugins.Layout{newTestLayout(size, true), newTestLayout(size, false)}
}

func openT(t testing.TB, dir, state string, l plugins.Layout, opts Options) *Applier {
	t.Helper()
	a, err := Open(zaptest.NewLogger(t), dir, state, l, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return a
}

// stream applies payload [from, to) in chunks of at most chunk bytes, cut at
// segment boundaries as a master cuts them.
func stream(t testing.TB, a *Applier, from, to int64, chunk int) {
	t.Helper()
	size := a.info.SegmentSize
	for off := from; off < to; {
		n := min(int64(chunk), to-off, plugins.SegmentStart(a.info, off)+size-off)
		if err := a.Apply(off, payload(off, off+n)); err != nil {
			t.Fatalf("Apply(%d, %d bytes): %v", off, n, err)
		}
		off += n
	}
}

// writeSource builds the master's directory holding payload [from, to).
func writeSource(t testing.TB, l plugins.Layout, dir string, from, to int64) {
	t.Helper()
	info := l.Info()
	for s := plugins.SegmentStart(info, from); s < to; s += info.SegmentSize {
		f, err := os.Create(filepath.Join(dir, l.SegmentName(s)))
		if err != nil {
			t.Fatal(err)
		}
		if info.Preallocated {
			if err := f.Truncate(info.SegmentSize); err != nil {
				t.Fatal(err)
			}
		}
		lo, hi := max(s, from), min(s+info.SegmentSize, to)
		if _, err := f.WriteAt(payload(lo, hi), lo-s); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// sameDir fails unless both directories hold the same files with the same
// sizes and bytes.
func sameDir(t testing.TB, want, got string) {
	t.Helper()
	w, g := dirFiles(t, want), dirFiles(t, got)
	if len(w) != len(g) {
		t.Fatalf("files: want %v, got %v", keys(w), keys(g))
	}
	for name, wb := range w {
		gb, ok := g[name]
		if !ok {
			t.Fatalf("file %s missing; got %v", name, keys(g))
		}
		if len(wb) != len(gb) {
			t.Fatalf("file %s: size %d, want %d", name, len(gb), len(wb))
		}
		if i := firstDiff(wb, gb); i >= 0 {
			t.Fatalf("file %s differs at byte %d: got %d, want %d", name, i, gb[i], wb[i])
		}
	}
}

func dirFiles(t testing.TB, dir string) map[string][]byte {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string][]byte{}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		m[e.Name()] = b
	}
	return m
}

func keys(m map[string][]byte) []string {
	var k []string
	for n := range m {
		k = append(k, n)
	}
	return k
}

func firstDiff(a, b []byte) int {
	for i := range a {
		if a[i] != b[i] {
			return i
		}
	}
	return -1
}

// crash abandons the applier the way SIGKILL would: files are closed
// without a sync or a checkpoint; what was written stays in the page cache.
func (a *Applier) crash() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.closed = true
	_ = a.closeFiles()
}

// dirs returns fresh source, slave and state directories.
func dirs(t testing.TB) (src, dst, state string) {
	root := t.TempDir()
	src, dst, state = filepath.Join(root, "src"), filepath.Join(root, "dst"), filepath.Join(root, "state")
	if err := os.Mkdir(src, 0o755); err != nil {
		t.Fatal(err)
	}
	return src, dst, state
}
