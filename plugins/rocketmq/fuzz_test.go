package rocketmq

import (
	"os"
	"path/filepath"
	"sync"
	"testing"

	"go.uber.org/zap"
)

const fuzzSeg = 2048

// fuzzSeeds returns real segments made by the Writer (sealed and open),
// truncated and corrupted variants, and noise.
func fuzzSeeds(f *testing.F) [][]byte {
	dir := f.TempDir()
	w, err := OpenWriter(zap.NewNop(), dir, WriterOptions{SegmentSize: fuzzSeg})
	if err != nil {
		f.Fatal(err)
	}
	for i := 0; w.End() < fuzzSeg+700; i++ {
		m := testMsg(i, 40+i*31%300)
		if i%5 == 4 {
			m.SysFlag = SysFlagBornHostV6
		}
		if _, err := w.Append(m); err != nil {
			f.Fatal(err)
		}
	}
	_ = w.Close()
	var seeds [][]byte
	for _, start := range []int64{0, fuzzSeg} {
		b, err := os.ReadFile(filepath.Join(dir, w.Layout().SegmentName(start)))
		if err != nil {
			f.Fatal(err)
		}
		seeds = append(seeds, b, b[:700], b[:333])
	}
	bad := append([]byte(nil), seeds[0]...)
	bad[300] ^= 0xff
	blank := make([]byte, 8)
	PutBlank(blank, fuzzSeg)
	return append(seeds, bad, blank, nil, make([]byte, 100), []byte("\x00\x00\x01\x00\xda\xa3\x20\xa7garbage"))
}

// FuzzScan feeds arbitrary segment bytes to Scan: it must not panic, and its
// End and Stable must be in bounds and be boundaries the walk accepts.
func FuzzScan(f *testing.F) {
	for i, s := range fuzzSeeds(f) {
		f.Add(s, uint8(i%2), i%3 == 0)
	}
	// One file, open all along, rewritten in place per input: a new file (or
	// one truncated to zero and closed, which ext4 flushes at once) per input
	// makes the disk, not Scan, the bottleneck.
	path := filepath.Join(f.TempDir(), "segment")
	file, err := os.Create(path)
	if err != nil {
		f.Fatal(err)
	}
	defer file.Close()
	var mu sync.Mutex
	f.Fuzz(func(t *testing.T, data []byte, seg uint8, skipCRC bool) {
		mu.Lock()
		defer mu.Unlock()
		if len(data) > fuzzSeg {
			data = data[:fuzzSeg]
		}
		l := testLayout(t, Options{SegmentSize: fuzzSeg, SkipCRC: skipCRC})
		start := int64(seg%4) * fuzzSeg
		if err := rewrite(file, data); err != nil {
			t.Fatal(err)
		}
		sc, err := l.Scan(path, start, start)
		if err != nil {
			t.Fatalf("Scan: %v", err)
		}
		segEnd := start + fuzzSeg
		if sc.Stable < start || sc.Stable > sc.End || sc.End > segEnd {
			t.Fatalf("out of bounds: %+v", sc)
		}
		if sc.Full && (sc.End != segEnd || sc.Stable != segEnd) || !sc.Full && sc.End > start+int64(len(data)) {
			t.Fatalf("inconsistent: %+v with %d bytes", sc, len(data))
		}
		for _, off := range []int64{sc.Stable, sc.End} {
			if ok, err := l.IsBoundary(path, start, off); !ok || err != nil {
				t.Fatalf("%d of %+v is not a boundary: %v", off, sc, err)
			}
			again, err := l.Scan(path, start, off)
			if err != nil || again.End != sc.End || again.Full != sc.Full {
				t.Fatalf("Scan from %d: %+v, %v; first %+v", off, again, err, sc)
			}
		}
	})
}

// rewrite makes f hold exactly data without truncating it to zero first.
func rewrite(f *os.File, data []byte) error {
	if _, err := f.WriteAt(data, 0); err != nil {
		return err
	}
	return f.Truncate(int64(len(data)))
}

// FuzzWalk is FuzzScan without the file: the record walk over bytes in
// memory, so the fuzzer explores the decoder at memory speed.
func FuzzWalk(f *testing.F) {
	for i, s := range fuzzSeeds(f) {
		f.Add(s, uint8(i%2), i%3 == 0)
	}
	f.Fuzz(func(t *testing.T, data []byte, seg uint8, skipCRC bool) {
		if len(data) > fuzzSeg {
			data = data[:fuzzSeg]
		}
		l := testLayout(t, Options{SegmentSize: fuzzSeg, SkipCRC: skipCRC})
		start := int64(seg%4) * fuzzSeg
		segEnd := start + fuzzSeg
		r := l.walk(data, start, segEnd, start, segEnd)
		if r.last < start || r.last > r.end || r.end > segEnd || !r.full && r.end > start+int64(len(data)) {
			t.Fatalf("out of bounds: %+v with %d bytes", r, len(data))
		}
		if r.full != (r.end == segEnd) {
			t.Fatalf("full but not at the end: %+v", r)
		}
		again := l.walk(data, start, segEnd, r.last, segEnd)
		if again.end != r.end || again.last != r.last || again.full != r.full {
			t.Fatalf("walk from %d: %+v; first %+v", r.last, again, r)
		}
		if stop := l.walk(data, start, segEnd, start, r.last); stop.end != r.last {
			t.Fatalf("walk to %d stopped at %d", r.last, stop.end)
		}
	})
}
