package tailer

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/edsrzf/mmap-go"

	"github.com/hasidecar/hasidecar/plugins"
)

// testLayout is a tiny layout for tests: segments named by their start as 20
// decimal digits. Preallocated segments hold records
// [u32 total][u32 crc32(payload)][payload]; a zero header ends the data, a
// header whose total is exactly what is left with crc = blankMagic seals the
// segment. Non-preallocated segments are raw append files: every byte up to
// the file size is valid and final.
type testLayout struct {
	size     int64
	prealloc bool
}

const (
	hdrSize    = 8
	blankMagic = 0xCBD43194
)

var _ plugins.Layout = (*testLayout)(nil)

func (l *testLayout) Info() plugins.Info {
	return plugins.Info{Name: "test", SegmentSize: l.size, Preallocated: l.prealloc}
}

func (l *testLayout) SegmentName(start int64) string { return plugins.OffsetName(start) }

func (l *testLayout) ParseName(name string) (int64, bool) { return plugins.ParseOffsetName(name) }

func (l *testLayout) Scan(path string, start, from int64) (plugins.Scan, error) {
	f, err := os.Open(path)
	if err != nil {
		return plugins.Scan{}, fmt.Errorf("scan %s: %w", path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return plugins.Scan{}, fmt.Errorf("scan %s: %w", path, err)
	}
	limit := min(fi.Size(), l.size)
	if !l.prealloc {
		end := start + limit
		return plugins.Scan{End: end, Stable: end, Full: limit == l.size}, nil
	}
	return l.walk(f, start, from, limit)
}

// scanBufs keeps Scan from allocating per call (as the built-in layouts
// do), so that benchmarks measure the tailer, not the test layout's garbage.
var scanBufs = sync.Pool{New: func() any { b := make([]byte, 0, 64<<10); return &b }}

// walk validates records from from and returns the last one as [Stable, End).
func (l *testLayout) walk(f *os.File, start, from, limit int64) (plugins.Scan, error) {
	pos, last := from-start, from-start
	var hdr [hdrSize]byte
	bp := scanBufs.Get().(*[]byte)
	defer scanBufs.Put(bp)
	buf := *bp
	for pos+hdrSize <= limit {
		if _, err := f.ReadAt(hdr[:], pos); err != nil {
			return plugins.Scan{}, fmt.Errorf("scan %s at %d: %w", f.Name(), start+pos, err)
		}
		total, sum := int64(binary.BigEndian.Uint32(hdr[:4])), binary.BigEndian.Uint32(hdr[4:])
		if total == l.size-pos && sum == blankMagic {
			end := start + l.size
			return plugins.Scan{End: end, Stable: end, Full: true}, nil
		}
		if total < hdrSize || pos+total > limit {
			break
		}
		if int64(cap(buf)) < total-hdrSize {
			buf = make([]byte, total-hdrSize)
			*bp = buf
		}
		buf = buf[:total-hdrSize]
		if _, err := f.ReadAt(buf, pos+hdrSize); err != nil {
			return plugins.Scan{}, fmt.Errorf("scan %s at %d: %w", f.Name(), start+pos, err)
		}
		if crc32.ChecksumIEEE(buf) != sum {
			break
		}
		last, pos = pos, pos+total
	}
	full := l.size-pos < hdrSize // no room left for any record: sealed
	if full {
		pos, last = l.size, l.size
	}
	return plugins.Scan{End: start + pos, Stable: start + last, Full: full}, nil
}

func (l *testLayout) IsBoundary(path string, start, off int64) (bool, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return false, fmt.Errorf("check boundary in %s: %w", path, err)
	}
	pos := int64(0)
	for pos < off-start && pos+hdrSize <= int64(len(data)) {
		total := int64(binary.BigEndian.Uint32(data[pos:]))
		if total < hdrSize {
			return false, nil
		}
		pos += total
	}
	return pos == off-start, nil
}

// record encodes one test record.
func record(payload []byte) []byte {
	r := make([]byte, hdrSize+len(payload))
	binary.BigEndian.PutUint32(r, uint32(len(r)))
	binary.BigEndian.PutUint32(r[4:], crc32.ChecksumIEEE(payload))
	copy(r[hdrSize:], payload)
	return r
}

// mmapWriter is a broker-like writer: preallocated segments written through
// a shared read-write mapping, no fsync, no write(2), so no inotify event.
type mmapWriter struct {
	t      testing.TB
	dir    string
	layout *testLayout
	retain int // keep at most this many segments (0: all)

	mu   sync.Mutex
	m    mmap.MMap
	seg  int64 // start of the current segment
	pos  int64 // absolute end of the data
	segs []int64
}

func newMmapWriter(t testing.TB, dir string, l *testLayout, first int64) *mmapWriter {
	w := &mmapWriter{t: t, dir: dir, layout: l, pos: first}
	w.open(first)
	t.Cleanup(w.close)
	return w
}

func (w *mmapWriter) open(start int64) {
	path := filepath.Join(w.dir, w.layout.SegmentName(start))
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		w.t.Fatalf("create segment: %v", err)
	}
	defer f.Close()
	if err := f.Truncate(w.layout.size); err != nil {
		w.t.Fatalf("preallocate segment: %v", err)
	}
	m, err := mmap.MapRegion(f, int(w.layout.size), mmap.RDWR, 0, 0)
	if err != nil {
		w.t.Fatalf("map segment: %v", err)
	}
	w.m, w.seg = m, start
	w.segs = append(w.segs, start)
	for w.retain > 0 && len(w.segs) > w.retain {
		if err := os.Remove(filepath.Join(w.dir, w.layout.SegmentName(w.segs[0]))); err != nil {
			w.t.Errorf("retention: %v", err)
		}
		w.segs = w.segs[1:]
	}
}

func (w *mmapWriter) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.m != nil {
		_ = w.m.Unmap()
		w.m = nil
	}
}

// Append writes one record (rolling to a new segment when it does not fit)
// and returns its end offset.
func (w *mmapWriter) Append(payload []byte) int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	r := record(payload)
	size := w.layout.size
	if int64(len(r)) > size {
		w.t.Fatalf("record of %d bytes exceeds the segment size", len(r))
	}
	if off := w.pos - w.seg; off+int64(len(r)) > size {
		if left := size - off; left >= hdrSize {
			binary.BigEndian.PutUint32(w.m[off:], uint32(left))
			binary.BigEndian.PutUint32(w.m[off+4:], blankMagic)
		}
		_ = w.m.Unmap()
		w.pos = w.seg + size
		w.open(w.pos)
	}
	copy(w.m[w.pos-w.seg:], r)
	w.pos += int64(len(r))
	if w.seg+size-w.pos < hdrSize {
		w.pos = w.seg + size
		_ = w.m.Unmap()
		w.open(w.pos)
	}
	return w.pos
}

// Rewind moves the write position back to pos in the current segment, as a
// writer that restarted and lost its last records would.
func (w *mmapWriter) Rewind(pos int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.pos = pos
}

// End returns the writer's current end.
func (w *mmapWriter) End() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.pos
}

// payloadAt is deterministic test data: readers can verify any byte.
func payloadAt(i, n int) []byte {
	p := make([]byte, n)
	for j := range p {
		p[j] = byte(i*31 + j)
	}
	return p
}
