package rocketmq

import (
	"path/filepath"
	"testing"

	"go.uber.org/zap"
)

// BenchmarkScan scans a sealed 64 MiB segment full of 1 KiB records, with and
// without the body CRC check.
func BenchmarkScan(b *testing.B) {
	const seg = 64 << 20
	dir := b.TempDir()
	w, err := OpenWriter(zap.NewNop(), dir, WriterOptions{SegmentSize: seg})
	if err != nil {
		b.Fatal(err)
	}
	m := testMsg(1, 1024-RecordSize(testMsg(1, 0)))
	for w.End() < seg {
		if _, err := w.Append(m); err != nil {
			b.Fatal(err)
		}
	}
	_ = w.Close()
	path := filepath.Join(dir, w.Layout().SegmentName(0))
	for _, skip := range []bool{false, true} {
		name := "crc"
		if skip {
			name = "skipcrc"
		}
		b.Run(name, func(b *testing.B) {
			l := testLayout(b, Options{SegmentSize: seg, SkipCRC: skip})
			b.SetBytes(seg)
			for b.Loop() {
				sc, err := l.Scan(path, 0, 0)
				if err != nil || !sc.Full {
					b.Fatalf("%+v, %v", sc, err)
				}
			}
		})
	}
}

// BenchmarkAppend appends 1 KiB records through the mmap writer.
func BenchmarkAppend(b *testing.B) {
	w, err := OpenWriter(zap.NewNop(), b.TempDir(), WriterOptions{SegmentSize: 64 << 20, Retain: 2})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	m := testMsg(1, 1024-RecordSize(testMsg(1, 0)))
	b.SetBytes(1024)
	for b.Loop() {
		if _, err := w.Append(m); err != nil {
			b.Fatal(err)
		}
	}
}
