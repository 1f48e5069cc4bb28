package external

import (
	"strconv"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/hasidecar/hasidecar/plugins"
	"github.com/hasidecar/hasidecar/plugins/crc32c"
	"github.com/hasidecar/hasidecar/plugins/crc32c/crc32ctest"
)

// BenchmarkScan scans the same sealed 64 MiB crc32c segment (4 KiB records)
// in-process and through the plugin binary, so the per-byte cost of the
// plugin boundary reads directly off the two MB/s figures. The "tail"
// variants scan only the last record, the tailer's common case, where the
// round trip dominates.
func BenchmarkScan(b *testing.B) {
	const size = 64 << 20
	seg := crc32ctest.FillSegment(b, b.TempDir(), size, 4096)
	in, err := crc32c.New(size)
	if err != nil {
		b.Fatal(err)
	}
	ext, err := Start(zap.NewNop(), Options{Path: pluginBin, Args: []string{"-segment-size", strconv.Itoa(size)}, CallTimeout: time.Minute})
	if err != nil {
		b.Fatal(err)
	}
	defer ext.Close()
	full, err := in.Scan(seg, 0, 0)
	if err != nil || !full.Full {
		b.Fatalf("in-process Scan = %+v, %v", full, err)
	}
	for _, bc := range []struct {
		name   string
		l      plugins.Layout
		from   int64
		nbytes int64
	}{
		{"in_process", in, 0, size},
		{"plugin", ext, 0, size},
		{"in_process_tail", in, lastRecord(b, in, seg), 0},
		{"plugin_tail", ext, lastRecord(b, in, seg), 0},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(bc.nbytes)
			for b.Loop() {
				if s, err := bc.l.Scan(seg, 0, bc.from); err != nil || s != full {
					b.Fatalf("Scan = %+v, %v", s, err)
				}
			}
		})
	}
}

// lastRecord returns the start of the last record before the end marker.
func lastRecord(b *testing.B, l *crc32c.Layout, seg string) int64 {
	b.Helper()
	// Records are 4104 bytes from 0; the marker follows the last whole one.
	const rec = 4096 + crc32c.HeaderSize
	n := (l.Info().SegmentSize / rec) - 1
	if ok, err := l.IsBoundary(seg, 0, n*rec); err != nil || !ok {
		b.Fatalf("offset %d is not a record start: %v", n*rec, err)
	}
	return n * rec
}
