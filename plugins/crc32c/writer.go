package crc32c

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/edsrzf/mmap-go"
	"go.uber.org/zap"

	"github.com/hasidecar/hasidecar/plugins"
)

// Writer appends records to a crc32c segment directory through a shared
// writable map of the current segment, as a broker would. It is for tests,
// demos and `hasidecar write`; Appends are serialised, so it is safe for
// concurrent use. Readers in other goroutines or processes see records
// through the page cache without any call on the Writer.
type Writer struct {
	log    *zap.Logger
	mu     sync.Mutex
	dir    string
	layout *Layout
	f      *os.File  // current segment, nil before the first Append
	m      mmap.MMap // whole current segment, mapped read-write
	start  int64     // start offset of the current segment
	end    int64     // absolute offset just past the last record
	closed bool
}

// OpenWriter opens dir (created if missing) for appending records to
// segments of segmentSize bytes. It resumes after the last valid record of
// the last segment already present.
func OpenWriter(log *zap.Logger, dir string, segmentSize int64) (*Writer, error) {
	if log == nil {
		log = zap.NewNop()
	}
	l, err := New(segmentSize)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("open crc32c writer: %w", err)
	}
	w := &Writer{log: log, dir: dir, layout: l}
	if w.end, err = resumeAt(l, dir); err != nil {
		return nil, err
	}
	log.Debug("crc32c writer opened", zap.String("dir", dir), zap.Int64("offset", w.end))
	return w, nil
}

// resumeAt returns where appending continues: the valid end of the highest
// segment in dir, or the next segment's start when that one is full.
func resumeAt(l *Layout, dir string) (int64, error) {
	starts, err := plugins.ListSegments(l, dir)
	if err != nil || len(starts) == 0 {
		return 0, err
	}
	last := starts[len(starts)-1]
	s, err := l.Scan(filepath.Join(dir, l.SegmentName(last)), last, last)
	if err != nil {
		return 0, fmt.Errorf("open crc32c writer: %w", err)
	}
	return s.End, nil
}

// End returns the absolute offset just past the last record appended.
func (w *Writer) End() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.end
}

// Append writes one record holding payload and returns the absolute offset
// just past it. A record that does not fit in the current segment seals it
// with the end marker and goes to the next one.
func (w *Writer) Append(payload []byte) (int64, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	size := HeaderSize + int64(len(payload))
	switch {
	case w.closed:
		return w.end, fmt.Errorf("append to %s: %w", w.dir, plugins.ErrClosed)
	case len(payload) == 0:
		return w.end, fmt.Errorf("append to %s: %w", w.dir, ErrEmpty)
	case size > w.layout.segSize || int64(len(payload)) > MaxPayload:
		return w.end, fmt.Errorf("append %d bytes to %s: %w", len(payload), w.dir, ErrTooLarge)
	}
	if err := w.ensure(size); err != nil {
		return w.end, err
	}
	rec := w.m[w.end-w.start : w.end-w.start+size]
	// Payload and CRC first, the length word last: a reader that sees a
	// non-zero length most likely sees the whole record, and one that does
	// not sees a CRC mismatch, which is "no data yet".
	copy(rec[HeaderSize:], payload)
	be.PutUint32(rec[4:], Checksum(payload))
	be.PutUint32(rec, uint32(len(payload)))
	w.end += size
	return w.end, nil
}

// ensure maps the segment where a record of size bytes will go, sealing the
// current one when the record does not fit in it.
func (w *Writer) ensure(size int64) error {
	segSize := w.layout.segSize
	if w.m != nil && w.end+size <= w.start+segSize {
		return nil
	}
	if room := segSize - w.end%segSize; w.end%segSize != 0 && size > room {
		if err := w.seal(room); err != nil {
			return err
		}
		w.end += room
	}
	if w.m != nil && w.end < w.start+segSize {
		return nil
	}
	if err := w.unmapCurrent(); err != nil {
		return err
	}
	return w.mapSegment(w.end - w.end%segSize)
}

// seal writes the end marker at w.end when a header fits in the room left;
// smaller tails stay zero, which Scan also reads as full.
func (w *Writer) seal(room int64) error {
	if room < HeaderSize {
		return nil
	}
	if w.m == nil {
		if err := w.mapSegment(w.end - w.end%w.layout.segSize); err != nil {
			return err
		}
	}
	be.PutUint32(w.m[w.end-w.start:], EndMarker)
	w.log.Debug("crc32c segment sealed", zap.Int64("segment_offset", w.start), zap.Int64("offset", w.end))
	return nil
}

// mapSegment opens (creating at full size, zero-filled) and maps the segment
// that starts at start.
func (w *Writer) mapSegment(start int64) error {
	path := filepath.Join(w.dir, w.layout.SegmentName(start))
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("open segment: %w", err)
	}
	st, err := f.Stat()
	if err == nil && st.Size() < w.layout.segSize {
		// Truncate extends with zeros (sparse); the size is then fixed.
		err = f.Truncate(w.layout.segSize)
	}
	if err != nil {
		f.Close()
		return fmt.Errorf("preallocate segment %s: %w", path, err)
	}
	m, err := mmap.MapRegion(f, int(w.layout.segSize), mmap.RDWR, 0, 0)
	if err != nil {
		f.Close()
		return fmt.Errorf("map segment %s: %w", path, err)
	}
	w.f, w.m, w.start = f, m, start
	return nil
}

// unmapCurrent releases the current segment's map and descriptor.
func (w *Writer) unmapCurrent() error {
	if w.m == nil {
		return nil
	}
	err := errors.Join(w.m.Unmap(), w.f.Close())
	w.f, w.m = nil, nil
	if err != nil {
		return fmt.Errorf("release segment %d: %w", w.start, err)
	}
	return nil
}

// Sync flushes the current segment's dirty pages to stable storage (msync).
func (w *Writer) Sync() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.m == nil {
		return nil
	}
	if err := w.m.Flush(); err != nil {
		return fmt.Errorf("sync segment %d: %w", w.start, err)
	}
	return nil
}

// Close unmaps the current segment. Later Appends fail with plugins.ErrClosed.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil
	}
	w.closed = true
	return w.unmapCurrent()
}
