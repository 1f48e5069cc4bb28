package crc32c

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/hasidecar/hasidecar/plugins"
)

func TestNames(t *testing.T) {
	l, err := New(1 << 20)
	if err != nil {
		t.Fatal(err)
	}
	if got := l.Info(); got != (plugins.Info{Name: "crc32c", SegmentSize: 1 << 20, Preallocated: true}) {
		t.Fatalf("Info = %v", got)
	}
	if got := l.SegmentName(1 << 20); got != "seg-00000000000001048576.log" {
		t.Fatalf("SegmentName = %q", got)
	}
	if s, ok := l.ParseName("seg-00000000000001048576.log"); !ok || s != 1<<20 {
		t.Fatalf("ParseName = %d, %t", s, ok)
	}
	for _, bad := range []string{"00000000000001048576", "seg-1048576.log", "seg-0000000000000104857x.log", "seg-00000000000001048576.log.tmp"} {
		if _, ok := l.ParseName(bad); ok {
			t.Errorf("ParseName(%q) accepted", bad)
		}
	}
	for _, n := range []int64{0, MinSegmentSize - 1, MaxSegmentSize + 1} {
		if _, err := New(n); !errors.Is(err, plugins.ErrBadConfig) {
			t.Errorf("New(%d) = %v", n, err)
		}
	}
}

// writeSegment writes a full-size segment holding body at its start.
func writeSegment(t testing.TB, dir string, l *Layout, start int64, body []byte) string {
	t.Helper()
	p := filepath.Join(dir, l.SegmentName(start))
	seg := make([]byte, l.segSize)
	copy(seg, body)
	if err := os.WriteFile(p, seg, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestScan(t *testing.T) {
	l, _ := New(128)
	r1 := AppendRecord(nil, []byte("hello"))    // 13 bytes
	r2 := AppendRecord(nil, []byte("world!!!")) // 16 bytes
	bad := AppendRecord(nil, []byte("broken"))
	bad[len(bad)-1] ^= 1
	tooLong := be.AppendUint32(nil, 200)
	sealed := append(append(append([]byte{}, r1...), r2...), 0xFF, 0xFF, 0xFF, 0xFF)
	for _, tc := range []struct {
		name string
		body []byte
		from int64
		want plugins.Scan
	}{
		{"empty", nil, 0, plugins.Scan{End: 1000, Stable: 1000}},
		{"two records", append(append([]byte{}, r1...), r2...), 0, plugins.Scan{End: 1029, Stable: 1013}},
		{"from a boundary", append(append([]byte{}, r1...), r2...), 13, plugins.Scan{End: 1029, Stable: 1013}},
		{"bad crc ends the data", append(append([]byte{}, r1...), bad...), 0, plugins.Scan{End: 1013, Stable: 1000}},
		{"length past the segment", append(append([]byte{}, r1...), tooLong...), 0, plugins.Scan{End: 1013, Stable: 1000}},
		{"end marker", sealed, 0, plugins.Scan{End: 1128, Stable: 1128, Full: true}},
		{"end marker from its offset", sealed, 29, plugins.Scan{End: 1128, Stable: 1128, Full: true}},
		{"from the end", nil, 128, plugins.Scan{End: 1128, Stable: 1128, Full: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := writeSegment(t, t.TempDir(), l, 1000, tc.body)
			got, err := l.Scan(p, 1000, 1000+tc.from)
			if err != nil || got != tc.want {
				t.Fatalf("Scan = %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

func TestScanTailTooSmallForAHeaderIsFull(t *testing.T) {
	l, _ := New(64)
	body := AppendRecord(nil, bytes.Repeat([]byte{7}, 64-8-5)) // 5 bytes left
	p := writeSegment(t, t.TempDir(), l, 0, body)
	got, err := l.Scan(p, 0, 0)
	if err != nil || got != (plugins.Scan{End: 64, Stable: 64, Full: true}) {
		t.Fatalf("Scan = %+v, %v", got, err)
	}
}

func TestScanErrors(t *testing.T) {
	l, _ := New(128)
	dir := t.TempDir()
	if _, err := l.Scan(filepath.Join(dir, "nope"), 0, 0); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing: %v", err)
	}
	if _, err := l.Scan(dir, 0, 0); !errors.Is(err, plugins.ErrNotSegment) {
		t.Fatalf("directory: %v", err)
	}
	p := writeSegment(t, dir, l, 0, nil)
	if _, err := l.Scan(p, 0, 129); !errors.Is(err, plugins.ErrRange) {
		t.Fatalf("range: %v", err)
	}
	if _, err := l.IsBoundary(p, 0, -1); !errors.Is(err, plugins.ErrRange) {
		t.Fatalf("boundary range: %v", err)
	}
}

func TestScanShortFile(t *testing.T) {
	l, _ := New(4096)
	p := filepath.Join(t.TempDir(), l.SegmentName(0))
	rec := AppendRecord(nil, []byte("abc"))
	if err := os.WriteFile(p, append(rec, AppendRecord(nil, []byte("defgh"))[:6]...), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := l.Scan(p, 0, 0)
	if err != nil || got != (plugins.Scan{End: 11, Stable: 0}) {
		t.Fatalf("Scan = %+v, %v", got, err)
	}
}

func TestIsBoundary(t *testing.T) {
	l, _ := New(128)
	body := append(AppendRecord(nil, []byte("hello")), 0xFF, 0xFF, 0xFF, 0xFF)
	p := writeSegment(t, t.TempDir(), l, 128, body)
	for off, want := range map[int64]bool{128: true, 129: false, 141: true, 142: false, 256: true} {
		got, err := l.IsBoundary(p, 128, off)
		if err != nil || got != want {
			t.Errorf("IsBoundary(%d) = %t, %v; want %t", off, got, err, want)
		}
	}
}

func TestWriterRollsSealsAndResumes(t *testing.T) {
	dir := t.TempDir()
	w, err := OpenWriter(zaptest.NewLogger(t), dir, 64)
	if err != nil {
		t.Fatal(err)
	}
	ends := []int64{}
	for _, n := range []int{20, 20, 20, 56, 3} { // 28+28 fit; 28 seals; 64 fills; 11
		end, err := w.Append(bytes.Repeat([]byte{byte(n)}, n))
		if err != nil {
			t.Fatal(err)
		}
		ends = append(ends, end)
	}
	if want := []int64{28, 56, 92, 192, 203}; fmt.Sprint(ends) != fmt.Sprint(want) {
		t.Fatalf("ends = %v, want %v", ends, want)
	}
	for _, bad := range [][]byte{nil, make([]byte, 57)} {
		if _, err := w.Append(bad); !errors.Is(err, ErrEmpty) && !errors.Is(err, ErrTooLarge) {
			t.Fatalf("Append(%d bytes) = %v", len(bad), err)
		}
	}
	if err := w.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Append([]byte("x")); !errors.Is(err, plugins.ErrClosed) {
		t.Fatalf("after Close: %v", err)
	}
	l, _ := New(64)
	want := map[int64]plugins.Scan{
		0:   {End: 64, Stable: 64, Full: true},   // marker at 56: < 8 bytes left
		64:  {End: 128, Stable: 128, Full: true}, // marker at 92
		128: {End: 192, Stable: 192, Full: true}, // one record fills it
		192: {End: 203, Stable: 192},
	}
	for start, ws := range want {
		p := filepath.Join(dir, l.SegmentName(start))
		if st, err := os.Stat(p); err != nil || st.Size() != 64 {
			t.Fatalf("segment %d: %v, %v", start, st, err)
		}
		if got, err := l.Scan(p, start, start); err != nil || got != ws {
			t.Errorf("Scan(%d) = %+v, %v; want %+v", start, got, err, ws)
		}
	}
	w, err = OpenWriter(nil, dir, 64)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if w.End() != 203 {
		t.Fatalf("resumed at %d", w.End())
	}
}

// TestConcurrentWriterAndScan has a writer goroutine appending through the
// map while the test scans on its own descriptors: every Scan must report a
// prefix of what was written, ending at a record boundary.
func TestConcurrentWriterAndScan(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	dir := t.TempDir()
	const segSize = 1 << 16
	w, err := OpenWriter(zaptest.NewLogger(t), dir, segSize)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	const total = 4 * segSize
	done := make(chan error, 1)
	go func() {
		for i := 0; w.End() < total; i++ {
			if _, err := w.Append(bytes.Repeat([]byte{byte(i)}, 1+i%300)); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	l, _ := New(segSize)
	var pos int64
	for pos < total {
		if ctx.Err() != nil {
			t.Fatalf("reader stuck at %d", pos)
		}
		start := pos - pos%segSize
		s, err := l.Scan(filepath.Join(dir, l.SegmentName(start)), start, pos)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if s.End < pos || s.Stable > s.End {
			t.Fatalf("Scan from %d = %+v", pos, s)
		}
		pos = s.End
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// FuzzScan feeds arbitrary segment contents to Scan and IsBoundary: they must
// not fail, and what they report must be consistent and within bounds.
func FuzzScan(f *testing.F) {
	r := AppendRecord(nil, []byte("payload"))
	f.Add([]byte{}, uint16(0))
	f.Add(r, uint16(0))
	f.Add(append(append([]byte{}, r...), r...), uint16(15))
	f.Add(append(append([]byte{}, r...), 0xFF, 0xFF, 0xFF, 0xFF), uint16(15))
	f.Add([]byte{0, 0, 0, 200, 1, 2, 3, 4}, uint16(0))
	f.Add(append(AppendRecord(nil, bytes.Repeat([]byte{1}, 100)), 0, 0, 0, 1), uint16(3))
	const segSize = 256
	l, _ := New(segSize)
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, body []byte, from uint16) {
		p := filepath.Join(dir, l.SegmentName(segSize))
		if err := os.WriteFile(p, body[:min(len(body), segSize)], 0o644); err != nil {
			t.Fatal(err)
		}
		s, err := l.Scan(p, segSize, segSize)
		if err != nil {
			t.Fatal(err)
		}
		if s.Stable > s.End || s.End < segSize || s.End > 2*segSize || s.Full && (s.End != 2*segSize || s.Stable != s.End) {
			t.Fatalf("Scan = %+v", s)
		}
		if ok, err := l.IsBoundary(p, segSize, s.Stable); err != nil || !ok {
			t.Fatalf("Stable %d is not a boundary: %v", s.Stable, err)
		}
		off := segSize + int64(from)%(segSize+1)
		if ok, err := l.IsBoundary(p, segSize, off); err != nil {
			t.Fatal(err)
		} else if ok && off <= s.End {
			if s2, err := l.Scan(p, segSize, off); err != nil || s2.End != s.End {
				t.Fatalf("Scan from boundary %d = %+v, %v; from start %+v", off, s2, err, s)
			}
		}
	})
}

func FuzzParseName(f *testing.F) {
	for _, s := range []string{"seg-00000000000000000000.log", "seg-00000000001073741824.log", "00000000000000000000", "seg-99999999999999999999.log", "seg--0000000000000000001.log"} {
		f.Add(s)
	}
	l, _ := New(1 << 30)
	f.Fuzz(func(t *testing.T, name string) {
		start, ok := l.ParseName(name)
		if ok && (start < 0 || l.SegmentName(start) != name) {
			t.Fatalf("ParseName(%q) = %d does not round-trip", name, start)
		}
	})
}
