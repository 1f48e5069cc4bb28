package rocketmq

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/hasidecar/hasidecar/plugins"
)

// TestScanWriterDir writes several segments with the Writer and checks every
// segment's End, Stable and Full against the offsets Append returned.
func TestScanWriterDir(t *testing.T) {
	dir := t.TempDir()
	w := openTestWriter(t, dir, WriterOptions{})
	var ends []int64 // record ends, in order
	for i := 0; w.End() < 4*testSeg+1000; i++ {
		end, err := w.Append(testMsg(i, 50+(i*37)%400))
		if err != nil {
			t.Fatal(err)
		}
		ends = append(ends, end)
	}
	l := w.Layout()
	starts, scans := scanAll(t, l, dir)
	if len(starts) != 5 {
		t.Fatalf("segments %v", starts)
	}
	for i, s := range starts {
		sc := scans[i]
		var inSeg []int64 // record ends inside this segment
		for _, e := range ends {
			if e > s && e <= s+testSeg {
				inSeg = append(inSeg, e)
			}
		}
		last := inSeg[len(inSeg)-1]
		if i < len(starts)-1 {
			if sc != (plugins.Scan{End: s + testSeg, Stable: s + testSeg, Full: true}) {
				t.Fatalf("segment %d: %+v", s, sc)
			}
			checkBlank(t, filepath.Join(dir, l.SegmentName(s)), last-s, s+testSeg-last)
			continue
		}
		stable := s
		if len(inSeg) > 1 {
			stable = inSeg[len(inSeg)-2]
		}
		want := plugins.Scan{End: last, Stable: stable}
		if sc != want || last != w.End() {
			t.Fatalf("last segment %d: %+v, want %+v (writer end %d)", s, sc, want, w.End())
		}
	}
}

// checkBlank asserts a blank record of size bytes at rel in the file.
func checkBlank(t *testing.T, path string, rel, size int64) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if int64(be.Uint32(b[rel:])) != size || be.Uint32(b[rel+4:]) != BlankMagicCode {
		t.Fatalf("%s: no blank record of %d bytes at %d: % x", path, size, rel, b[rel:rel+8])
	}
}

// fiveRecords writes five records into the segment starting at start and
// returns the path, the layout and the record boundaries (6 offsets).
func fiveRecords(t *testing.T, start int64, mutate func(data []byte, rel []int64)) (string, []int64) {
	t.Helper()
	var msgs []*Message
	for i := range 5 {
		msgs = append(msgs, testMsg(i, 100+i))
	}
	data, offs := buildRecords(start, msgs...)
	rel := make([]int64, len(offs))
	for i, o := range offs {
		rel[i] = o - start
	}
	if mutate != nil {
		mutate(data, rel)
	}
	return writeSegment(t, testLayout(t, Options{}), t.TempDir(), start, data, testSeg), offs
}

func TestScanCorrupt(t *testing.T) {
	const start = 3 * testSeg
	cases := map[string]func(d []byte, r []int64){
		"bad crc":        func(d []byte, r []int64) { d[r[2]+100]++ },
		"wrong phys":     func(d []byte, r []int64) { be.PutUint64(d[r[2]+offPhys:], uint64(r[2])) },
		"size too large": func(d []byte, r []int64) { be.PutUint32(d[r[2]:], uint32(r[3]-r[2]+1)) },
		"size too small": func(d []byte, r []int64) { be.PutUint32(d[r[2]:], uint32(r[3]-r[2]-1)) },
		"size huge":      func(d []byte, r []int64) { be.PutUint32(d[r[2]:], 1<<31-1) },
		"size negative":  func(d []byte, r []int64) { be.PutUint32(d[r[2]:], 1<<31) },
		"unknown magic":  func(d []byte, r []int64) { be.PutUint32(d[r[2]+4:], 0xAABBCCDD) },
		"zero header":    func(d []byte, r []int64) { clear(d[r[2] : r[2]+8]) },
		"blank wrong":    func(d []byte, r []int64) { PutBlank(d[r[2]:], int(r[3]-r[2])) },
		"v1 topic > 127": func(d []byte, r []int64) { d[r[3]-2-int64(len("KEYS\x01k2\x02"))-int64(len("TopicTest"))-1] = 0x80 },
		"props length":   func(d []byte, r []int64) { d[r[3]-2-int64(len("KEYS\x01k2\x02"))]++ },
	}
	l := testLayout(t, Options{})
	for name, mutate := range cases {
		path, offs := fiveRecords(t, start, mutate)
		sc, err := l.Scan(path, start, start)
		if err != nil || sc.End != offs[2] || sc.Stable != offs[1] || sc.Full {
			t.Errorf("%s: %+v, %v; want End %d Stable %d", name, sc, err, offs[2], offs[1])
		}
		if (sc.Reason == "") != (name == "zero header") {
			t.Errorf("%s: reason %q: want one for non-zero bytes only", name, sc.Reason)
		}
		for i, o := range offs {
			ok, err := l.IsBoundary(path, start, o)
			if err != nil || ok != (i <= 2) {
				t.Errorf("%s: IsBoundary(record %d) = %v, %v", name, i, ok, err)
			}
		}
	}
	// Without the CRC check the bad-CRC record is accepted.
	path, offs := fiveRecords(t, start, cases["bad crc"])
	sc, err := testLayout(t, Options{SkipCRC: true}).Scan(path, start, start)
	if err != nil || sc != (plugins.Scan{End: offs[5], Stable: offs[4]}) {
		t.Fatalf("skip crc: %+v, %v", sc, err)
	}
}

func TestScanTruncated(t *testing.T) {
	l := testLayout(t, Options{})
	path, offs := fiveRecords(t, 0, nil)
	for _, c := range []struct {
		size        int64
		end, stable int64
	}{
		{offs[3] + 50, offs[3], offs[2]}, // mid-record
		{offs[3] + 4, offs[3], offs[2]},  // inside the header
		{offs[3], offs[3], offs[2]},      // on a boundary: a foreign file ends there
		{offs[0] + 3, 0, 0},
	} {
		if err := os.Truncate(path, c.size); err != nil {
			t.Fatal(err)
		}
		sc, err := l.Scan(path, 0, 0)
		if err != nil || sc != (plugins.Scan{End: c.end, Stable: c.stable}) {
			t.Fatalf("size %d: %+v, %v", c.size, sc, err)
		}
	}
}

func TestScanFrom(t *testing.T) {
	l := testLayout(t, Options{})
	const start = testSeg
	path, offs := fiveRecords(t, start, nil)
	want := plugins.Scan{End: offs[5], Stable: offs[4]}
	for _, from := range []int64{start, offs[1], offs[4], offs[5]} {
		sc, err := l.Scan(path, start, from)
		w := want
		if from == offs[5] {
			w.Stable = offs[5]
		}
		if err != nil || sc != w {
			t.Fatalf("from %d: %+v, %v; want %+v", from, sc, err, w)
		}
	}
	// A non-boundary from finds nothing.
	if sc, err := l.Scan(path, start, offs[2]+8); err != nil || sc.End != offs[2]+8 || sc.Stable != offs[2]+8 {
		t.Fatalf("mid-record from: %+v, %v", sc, err)
	}
	// From the end of a sealed segment.
	if sc, err := l.Scan(path, start, start+testSeg); err != nil || !sc.Full || sc.End != start+testSeg {
		t.Fatalf("from segment end: %+v, %v", sc, err)
	}
}

// TestScanLargeFrom maps from a page in the middle of a big segment.
func TestScanLargeFrom(t *testing.T) {
	dir := t.TempDir()
	w := openTestWriter(t, dir, WriterOptions{SegmentSize: 1 << 20})
	var ends []int64
	for i := range 300 {
		e, err := w.Append(testMsg(i, 1000))
		if err != nil {
			t.Fatal(err)
		}
		ends = append(ends, e)
	}
	path := filepath.Join(dir, w.Layout().SegmentName(0))
	sc, err := w.Layout().Scan(path, 0, ends[150])
	if err != nil || sc != (plugins.Scan{End: ends[299], Stable: ends[298]}) {
		t.Fatalf("%+v, %v", sc, err)
	}
}

func TestScanFullSegment(t *testing.T) {
	l := testLayout(t, Options{SegmentSize: 2 * 200})
	m := &Message{Topic: "t", Body: make([]byte, 200-MinRecordSize-1)}
	data, offs := buildRecords(0, m, m)
	path := writeSegment(t, l, t.TempDir(), 0, data, 400)
	sc, err := l.Scan(path, 0, 0)
	if err != nil || sc != (plugins.Scan{End: 400, Stable: 400, Full: true}) {
		t.Fatalf("data to the last byte: %+v, %v", sc, err)
	}
	if ok, err := l.IsBoundary(path, 0, offs[1]); !ok || err != nil {
		t.Fatalf("IsBoundary: %v, %v", ok, err)
	}
	// A file shorter than the segment ends where the file ends.
	if err := os.Truncate(path, 300); err != nil {
		t.Fatal(err)
	}
	if sc, err := l.Scan(path, 0, 0); err != nil || sc != (plugins.Scan{End: 200, Stable: 0}) {
		t.Fatalf("short file: %+v, %v", sc, err)
	}
	// A blank record needs only its 8-byte header, even in a short file.
	PutBlank(data[200:], 200)
	path = writeSegment(t, l, t.TempDir(), 0, data[:208], 0)
	if sc, err := l.Scan(path, 0, 0); err != nil || !sc.Full {
		t.Fatalf("blank in short file: %+v, %v", sc, err)
	}
}

func TestIsBoundaryWriter(t *testing.T) {
	dir := t.TempDir()
	w := openTestWriter(t, dir, WriterOptions{})
	starts := map[int64]bool{0: true}
	for i := 0; w.End() < testSeg+500; i++ {
		end, err := w.Append(testMsg(i, 300))
		if err != nil {
			t.Fatal(err)
		}
		starts[end] = true
	}
	l, p := w.Layout(), filepath.Join(dir, w.Layout().SegmentName(0))
	sc, _ := l.Scan(p, 0, 0)
	for off := int64(0); off <= testSeg; off++ {
		ok, err := l.IsBoundary(p, 0, off)
		want := starts[off] && off < sc.End || off == testSeg
		if err != nil || ok != want {
			t.Fatalf("IsBoundary(%d) = %v, %v; want %v", off, ok, err, want)
		}
	}
}

// TestScanTruncatedToNothing: a segment truncated to nothing holds no data
// (the fault guard for mapped reads is tested in package plugins).
func TestScanTruncatedToNothing(t *testing.T) {
	l := testLayout(t, Options{})
	path, _ := fiveRecords(t, 0, nil)
	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
	if sc, err := l.Scan(path, 0, 0); err != nil || sc != (plugins.Scan{}) {
		t.Fatalf("Scan after truncation: %+v, %v", sc, err)
	}
	if ok, err := l.IsBoundary(path, 0, 0); err != nil || !ok {
		t.Fatalf("IsBoundary at the start of an empty file: %v, %v", ok, err)
	}
}
