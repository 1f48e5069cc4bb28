package raw

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/hasidecar/hasidecar/plugins"
)

func TestNewRejectsBadSize(t *testing.T) {
	for _, n := range []int64{0, -1} {
		if _, err := New(n); !errors.Is(err, plugins.ErrBadConfig) {
			t.Errorf("New(%d) = %v, want ErrBadConfig", n, err)
		}
	}
}

func TestNames(t *testing.T) {
	l, _ := New(1024)
	if got := l.Info(); got != (plugins.Info{Name: "raw", SegmentSize: 1024}) {
		t.Fatalf("Info = %v", got)
	}
	for _, start := range []int64{0, 1024, 1 << 40} {
		name := l.SegmentName(start)
		if len(name) != 20 {
			t.Fatalf("SegmentName(%d) = %q", start, name)
		}
		if got, ok := l.ParseName(name); !ok || got != start {
			t.Fatalf("ParseName(%q) = %d, %t", name, got, ok)
		}
	}
	for _, bad := range []string{"", "checkpoint", "0000000000000000000x", "000000000000000000001", "99999999999999999999"} {
		if _, ok := l.ParseName(bad); ok {
			t.Errorf("ParseName(%q) accepted", bad)
		}
	}
}

func TestScanFollowsFileSize(t *testing.T) {
	dir := t.TempDir()
	l, _ := New(100)
	w, err := OpenWriter(dir, 100)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	seg0 := filepath.Join(dir, l.SegmentName(0))
	if _, err := l.Scan(seg0, 0, 0); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Scan of missing segment: %v, want fs.ErrNotExist", err)
	}
	end, err := w.Append(bytes.Repeat([]byte{'a'}, 60))
	if err != nil || end != 60 {
		t.Fatalf("Append = %d, %v", end, err)
	}
	s, err := l.Scan(seg0, 0, 0)
	if err != nil || s != (plugins.Scan{End: 60, Stable: 60}) {
		t.Fatalf("Scan = %+v, %v", s, err)
	}
	// 70 more bytes: 40 fill segment 0, 30 go to segment 100.
	if end, err = w.Append(bytes.Repeat([]byte{'b'}, 70)); err != nil || end != 130 {
		t.Fatalf("Append = %d, %v", end, err)
	}
	if s, err = l.Scan(seg0, 0, 60); err != nil || s != (plugins.Scan{End: 100, Stable: 100, Full: true}) {
		t.Fatalf("Scan full = %+v, %v", s, err)
	}
	seg1 := filepath.Join(dir, l.SegmentName(100))
	if s, err = l.Scan(seg1, 100, 100); err != nil || s != (plugins.Scan{End: 130, Stable: 130}) {
		t.Fatalf("Scan seg1 = %+v, %v", s, err)
	}
	if _, err := l.Scan(seg1, 100, 201); !errors.Is(err, plugins.ErrRange) {
		t.Fatalf("Scan out of range: %v", err)
	}
}

func TestScanCapsOversizedAndDetectsShrink(t *testing.T) {
	dir := t.TempDir()
	l, _ := New(100)
	p := filepath.Join(dir, l.SegmentName(0))
	if err := os.WriteFile(p, make([]byte, 150), 0o644); err != nil {
		t.Fatal(err)
	}
	if s, err := l.Scan(p, 0, 0); err != nil || s != (plugins.Scan{End: 100, Stable: 100, Full: true}) {
		t.Fatalf("Scan oversized = %+v, %v", s, err)
	}
	if err := os.Truncate(p, 10); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Scan(p, 0, 50); !errors.Is(err, plugins.ErrCorrupt) {
		t.Fatalf("Scan after shrink: %v, want ErrCorrupt", err)
	}
	if _, err := l.Scan(dir, 0, 0); !errors.Is(err, plugins.ErrNotSegment) {
		t.Fatalf("Scan of a directory: %v", err)
	}
}

func TestIsBoundary(t *testing.T) {
	l, _ := New(100)
	for _, off := range []int64{100, 150, 200} {
		if ok, err := l.IsBoundary("x", 100, off); err != nil || !ok {
			t.Errorf("IsBoundary(%d) = %t, %v", off, ok, err)
		}
	}
	if _, err := l.IsBoundary("x", 100, 201); !errors.Is(err, plugins.ErrRange) {
		t.Errorf("IsBoundary out of range: %v", err)
	}
}

func TestWriterResumesAndCloses(t *testing.T) {
	dir := t.TempDir()
	w, err := OpenWriter(dir, 64)
	if err != nil {
		t.Fatal(err)
	}
	want := bytes.Repeat([]byte("0123456789"), 20)
	if _, err := w.Append(want[:150]); err != nil {
		t.Fatal(err)
	}
	if err := w.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Append([]byte("x")); !errors.Is(err, plugins.ErrClosed) {
		t.Fatalf("Append after Close: %v", err)
	}
	w, err = OpenWriter(dir, 64)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if w.End() != 150 {
		t.Fatalf("resumed at %d, want 150", w.End())
	}
	if end, err := w.Append(want[150:]); err != nil || end != 200 {
		t.Fatalf("Append = %d, %v", end, err)
	}
	var got []byte
	l, _ := New(64)
	for start := int64(0); start < 200; start += 64 {
		b, err := os.ReadFile(filepath.Join(dir, l.SegmentName(start)))
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, b...)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("segments hold %q", got)
	}
}

func FuzzParseName(f *testing.F) {
	for _, s := range []string{"00000000000000000000", "00000000001073741824", "x", "99999999999999999999", "-0000000000000000001"} {
		f.Add(s)
	}
	l, _ := New(1 << 30)
	f.Fuzz(func(t *testing.T, name string) {
		start, ok := l.ParseName(name)
		if !ok {
			return
		}
		if start < 0 || l.SegmentName(start) != name {
			t.Fatalf("ParseName(%q) = %d does not round-trip", name, start)
		}
	})
}
