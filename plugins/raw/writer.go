package raw

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/hasidecar/hasidecar/plugins"
)

// Writer appends bytes to a raw segment directory with write(2), rolling to
// a new segment at the segment size. It is for tests and demos; it is safe
// for concurrent use (Appends are serialised).
type Writer struct {
	mu     sync.Mutex
	dir    string
	layout *Layout
	f      *os.File // current segment, opened for append
	start  int64    // start offset of the current segment
	end    int64    // absolute offset just past the last byte written
	closed bool
}

// OpenWriter opens dir (created if missing) for appending. It resumes after
// the last segment already present: its size is where writing continues.
func OpenWriter(dir string, segmentSize int64) (*Writer, error) {
	l, err := New(segmentSize)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("open raw writer: %w", err)
	}
	w := &Writer{dir: dir, layout: l}
	last, found, err := lastSegment(l, dir)
	if err != nil {
		return nil, err
	}
	if found {
		st, err := os.Stat(filepath.Join(dir, l.SegmentName(last)))
		if err != nil {
			return nil, fmt.Errorf("open raw writer: %w", err)
		}
		w.end = last + min(st.Size(), segmentSize)
	}
	return w, nil
}

// lastSegment returns the highest segment start present in dir.
func lastSegment(l *Layout, dir string) (int64, bool, error) {
	starts, err := plugins.ListSegments(l, dir)
	if err != nil || len(starts) == 0 {
		return 0, false, err
	}
	return starts[len(starts)-1], true, nil
}

// End returns the absolute offset just past the last byte written.
func (w *Writer) End() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.end
}

// Append writes p at the end, splitting it at segment boundaries, and
// returns the new end offset.
func (w *Writer) Append(p []byte) (int64, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return w.end, fmt.Errorf("append to %s: %w", w.dir, plugins.ErrClosed)
	}
	for len(p) > 0 {
		if err := w.roll(); err != nil {
			return w.end, err
		}
		n := min(int64(len(p)), w.start+w.layout.segSize-w.end)
		m, err := w.f.Write(p[:n])
		w.end += int64(m)
		if err != nil {
			return w.end, fmt.Errorf("append to segment %s: %w", w.f.Name(), err)
		}
		p = p[n:]
	}
	return w.end, nil
}

// roll makes w.f the open segment that holds offset w.end.
func (w *Writer) roll() error {
	start := w.end - w.end%w.layout.segSize
	if w.f != nil && start == w.start {
		return nil
	}
	if w.f != nil {
		if err := w.f.Close(); err != nil {
			return fmt.Errorf("close segment %s: %w", w.f.Name(), err)
		}
		w.f = nil
	}
	path := filepath.Join(w.dir, w.layout.SegmentName(start))
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("open segment: %w", err)
	}
	w.f, w.start = f, start
	return nil
}

// Sync flushes the current segment to stable storage.
func (w *Writer) Sync() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return nil
	}
	if err := w.f.Sync(); err != nil {
		return fmt.Errorf("sync segment %s: %w", w.f.Name(), err)
	}
	return nil
}

// Close closes the current segment. Later Appends fail with plugins.ErrClosed.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil
	}
	w.closed = true
	if w.f == nil {
		return nil
	}
	if err := w.f.Close(); err != nil {
		return fmt.Errorf("close segment %s: %w", w.f.Name(), err)
	}
	return nil
}
