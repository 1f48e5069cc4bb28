package crc32c_test

import (
	"testing"

	"github.com/hasidecar/hasidecar/plugins/crc32c"
	"github.com/hasidecar/hasidecar/plugins/crc32c/crc32ctest"
)

// BenchmarkScan scans a 64 MiB segment full of 4 KiB records in-process;
// plugins/external has the same benchmark through the plugin binary.
func BenchmarkScan(b *testing.B) {
	const segSize = 64 << 20
	dir := b.TempDir()
	p := crc32ctest.FillSegment(b, dir, segSize, 4096)
	l, _ := crc32c.New(segSize)
	b.SetBytes(segSize)
	for b.Loop() {
		s, err := l.Scan(p, 0, 0)
		if err != nil || !s.Full {
			b.Fatalf("Scan = %+v, %v", s, err)
		}
	}
}
