package rocketmq

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/hasidecar/hasidecar/plugins"
)

func TestNames(t *testing.T) {
	l := testLayout(t, Options{})
	for _, start := range []int64{0, 1 << 30, 3 << 30, 1<<62 + 12345} {
		name := l.SegmentName(start)
		if len(name) != 20 {
			t.Fatalf("SegmentName(%d) = %q", start, name)
		}
		got, ok := l.ParseName(name)
		if !ok || got != start {
			t.Fatalf("ParseName(%q) = %d, %v", name, got, ok)
		}
	}
	if n := l.SegmentName(1 << 30); n != "00000000001073741824" {
		t.Fatalf("SegmentName(1GiB) = %q", n)
	}
	for _, bad := range []string{
		"", "checkpoint", "abort", "consumequeue", "0000000000000000000", "000000000000000000000",
		"0000000000000000000a", "00000000000000000000.tmp", ".00000000000000000000", "99999999999999999999",
		"-0000000000000000001", "+0000000000000000001", " 0000000000000000001", "0000000000 000000001",
	} {
		if s, ok := l.ParseName(bad); ok {
			t.Errorf("ParseName(%q) = %d, true; want false", bad, s)
		}
	}
}

func TestNewOptions(t *testing.T) {
	l, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := plugins.Info{Name: "rocketmq", SegmentSize: DefaultSegmentSize, Preallocated: true}
	if l.Info() != want || l.Info().Check() != nil {
		t.Fatalf("Info = %v, want %v", l.Info(), want)
	}
	if l.blank != BlankMagicCode || l.version(MagicV1) != 1 || l.version(MagicV2) != 2 || l.version(0xAABBCCDD) != 0 {
		t.Fatal("default magics")
	}
	for name, o := range map[string]Options{
		"negative size":  {SegmentSize: -1},
		"tiny size":      {SegmentSize: MinSegmentSize - 1},
		"huge size":      {SegmentSize: MaxSegmentSize + 1},
		"zero magic":     {MessageMagic: []uint32{MagicV1, 0}},
		"magic is blank": {MessageMagic: []uint32{0x1234}, BlankMagic: 0x1234},
		"default blank":  {MessageMagic: []uint32{BlankMagicCode}},
	} {
		if _, err := New(o); !errors.Is(err, plugins.ErrBadConfig) {
			t.Errorf("%s: err = %v, want ErrBadConfig", name, err)
		}
	}
	custom := testLayout(t, Options{MessageMagic: []uint32{0x11111111}})
	if custom.version(MagicV1) != 0 || custom.version(0x11111111) != 1 {
		t.Fatal("custom magic")
	}
}

func TestScanErrors(t *testing.T) {
	l := testLayout(t, Options{})
	dir := t.TempDir()
	missing := filepath.Join(dir, l.SegmentName(0))
	if _, err := l.Scan(missing, 0, 0); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Scan missing: %v", err)
	}
	if _, err := l.IsBoundary(missing, 0, 0); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("IsBoundary missing: %v", err)
	}
	sub := filepath.Join(dir, l.SegmentName(testSeg))
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Scan(sub, testSeg, testSeg); !errors.Is(err, plugins.ErrNotSegment) {
		t.Fatalf("Scan dir: %v", err)
	}
	p := writeSegment(t, l, dir, 0, nil, testSeg)
	for _, from := range []int64{-1, testSeg + 1} {
		if _, err := l.Scan(p, 0, from); !errors.Is(err, plugins.ErrRange) {
			t.Fatalf("Scan from %d: %v", from, err)
		}
		if _, err := l.IsBoundary(p, 0, from); !errors.Is(err, plugins.ErrRange) {
			t.Fatalf("IsBoundary %d: %v", from, err)
		}
	}
	// An empty (zero) segment and an empty file: no data, nothing wrong.
	for _, size := range []int64{testSeg, 0} {
		p := writeSegment(t, l, dir, 0, nil, size)
		sc, err := l.Scan(p, 0, 0)
		if err != nil || sc != (plugins.Scan{}) {
			t.Fatalf("Scan empty %d: %+v, %v", size, sc, err)
		}
	}
}
