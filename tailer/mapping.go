package tailer

import (
	"fmt"
	"sync/atomic"

	"github.com/edsrzf/mmap-go"
	"go.uber.org/zap"
	"golang.org/x/sys/unix"

	"github.com/hasidecar/hasidecar/plugins/fsio"
)

// mapping is one read-only mmap of a segment file's prefix. It is reference
// counted: the tailer holds one reference while the mapping is current, and
// every outstanding Chunk holds one. Whoever drops the last reference unmaps,
// so a segment deleted by retention (or remapped after growth) stays readable
// for a sender that is in the middle of writing it to a socket.
type mapping struct {
	log  *zap.Logger
	path string
	data mmap.MMap
	refs atomic.Int64

	populated atomic.Int64 // bytes from the start whose page tables were filled
}

// populateWindow is how far ahead of a read the page tables are filled.
const populateWindow = 4 << 20

// prefetch fills the page tables of the mapping ahead of a read ending at
// hi, one madvise(MADV_POPULATE_READ) per window: a fresh mapping would
// otherwise take a page fault every few pages while a slave catches up
// (measured: ~30% of catch-up time). Failure (an old kernel) only costs the
// faults; the range never passes the mapped length, so it never touches
// pages past the file's end.
func (m *mapping) prefetch(hi int64) {
	done := m.populated.Load()
	if hi <= done || done >= int64(len(m.data)) {
		return
	}
	end := min(int64(len(m.data)), hi+populateWindow)
	if !m.populated.CompareAndSwap(done, end) {
		return // another reader is doing it
	}
	if err := unix.Madvise(m.data[done:end], unix.MADV_POPULATE_READ); err != nil {
		m.populated.Store(int64(len(m.data))) // do not retry on every read
	}
}

// mapFile maps the first n bytes of the file f, read-only. n must not exceed
// the file's size: touching a mapped page past EOF raises SIGBUS. The
// mapping is made on the operating-system file under f (outside the seam).
func mapFile(log *zap.Logger, f fsio.File, n int64) (*mapping, error) {
	m := &mapping{log: log, path: f.Name()}
	m.refs.Store(1)
	if n == 0 {
		return m, nil // mmap of length 0 is invalid; an empty mapping serves nothing
	}
	osf := fsio.OSFile(f)
	if osf == nil {
		return nil, fmt.Errorf("mmap %s: %w", f.Name(), fsio.ErrNotOSFile)
	}
	data, err := mmap.MapRegion(osf, int(n), mmap.RDONLY, 0, 0)
	if err != nil {
		return nil, fmt.Errorf("mmap %s (%d bytes): %w", f.Name(), n, err)
	}
	m.data = data
	return m, nil
}

// acquire adds a reference. Only valid while the caller knows another
// reference is held (the tailer's, under its lock).
func (m *mapping) acquire() { m.refs.Add(1) }

// release drops a reference and unmaps on the last one.
func (m *mapping) release() {
	n := m.refs.Add(-1)
	if n > 0 {
		return
	}
	if n < 0 {
		m.log.Error("mapping released more often than acquired", zap.String("path", m.path))
		return
	}
	if m.data == nil {
		return
	}
	if err := m.data.Unmap(); err != nil {
		m.log.Warn("unmap failed", zap.String("path", m.path), zap.Error(err))
	}
	m.data = nil
}

// size is the number of mapped bytes.
func (m *mapping) size() int64 {
	if m == nil {
		return 0
	}
	return int64(len(m.data))
}

// Chunk is a read-only slice of a segment's mapping. Data must not be
// written to and must not be used after Release.
type Chunk struct {
	Offset int64
	Data   []byte
	m      *mapping
}

// Release gives the chunk's mapping reference back. It is safe to call on a
// zero or empty Chunk and more than once on the same Chunk value (not on
// copies of it).
func (c *Chunk) Release() {
	if c.m != nil {
		c.m.release()
	}
	c.m = nil
	c.Data = nil
}
