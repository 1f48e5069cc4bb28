package rocketmq

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/edsrzf/mmap-go"
	"go.uber.org/zap"

	"github.com/hasidecar/hasidecar/plugins"
)

// WriterOptions configures a Writer. The zero value is RocketMQ's default.
type WriterOptions struct {
	// SegmentSize is the fixed segment size; 0 means DefaultSegmentSize.
	SegmentSize int64
	// Retain keeps at most this many segments, deleting the oldest after a
	// roll; 0 keeps all.
	Retain int
	// BlankMagic is the end-of-segment magic; 0 means BlankMagicCode.
	BlankMagic uint32
}

// Writer appends records to a commit-log directory the way a RocketMQ broker
// does: preallocated, zero-filled segments written through a shared
// read-write mmap, sealed with a blank record when the next record does not
// fit. A Writer is not safe for concurrent use: one goroutine (or a caller
// holding a lock) must serialize every call. Readers in other goroutines or
// processes use Layout.Scan on the files.
type Writer struct {
	log      *zap.Logger
	dir      string
	layout   *Layout
	retain   int
	seg      mmap.MMap // the current segment; nil before the first roll
	segStart int64
	end      int64
	buf      []byte
	closed   bool
	// unsynced lists sealed segments not yet fsynced, and dirDirty says a
	// segment was created since the last Flush: rolling does not wait for the
	// disk (a broker's flush service is asynchronous too), Flush catches up.
	unsynced []int64
	dirDirty bool
}

// OpenWriter opens (creating it if missing) the segment directory dir. When
// segments exist it recovers the end of valid data with Scan on the newest
// ones and continues there, so a killed writer can be restarted: a torn record
// after the valid end is overwritten by the next Append.
func OpenWriter(log *zap.Logger, dir string, opts WriterOptions) (*Writer, error) {
	if log == nil {
		log = zap.NewNop()
	}
	if opts.Retain < 0 {
		return nil, fmt.Errorf("open writer %s: retain %d < 0: %w", dir, opts.Retain, plugins.ErrBadConfig)
	}
	layout, err := New(Options{SegmentSize: opts.SegmentSize, BlankMagic: opts.BlankMagic})
	if err != nil {
		return nil, fmt.Errorf("open writer %s: %w", dir, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("open writer: %w", err)
	}
	w := &Writer{log: log, dir: dir, layout: layout, retain: opts.Retain}
	if err := w.recoverEnd(); err != nil {
		_ = w.Close()
		return nil, err
	}
	return w, nil
}

// Layout returns the layout matching the files the writer produces.
func (w *Writer) Layout() *Layout { return w.layout }

// Dir returns the segment directory.
func (w *Writer) Dir() string { return w.dir }

// End returns the absolute offset just past the last appended record (or the
// start of the next segment after a seal).
func (w *Writer) End() int64 { return w.end }

// Append encodes m at the end of the log and returns the absolute end offset
// of its record. Zero timestamps are set to now. Like RocketMQ's CommitLog,
// a record that does not fit in the current segment with room for a blank
// record left seals the segment and goes to the start of a new one.
func (w *Writer) Append(m *Message) (int64, error) {
	if w.closed {
		return 0, fmt.Errorf("append %s: %w", w.dir, plugins.ErrClosed)
	}
	if err := CheckMessage(m); err != nil {
		return 0, fmt.Errorf("append %s: %w", w.dir, err)
	}
	size := int64(RecordSize(m))
	if size+BlankSize > w.layout.segSize {
		return 0, fmt.Errorf("append %s: record of %d bytes, segment of %d: %w", w.dir, size, w.layout.segSize, ErrTooLarge)
	}
	if err := w.ensureRoom(size); err != nil {
		return 0, err
	}
	msg := *m
	if now := time.Now().UnixMilli(); msg.StoreTimestamp == 0 {
		msg.StoreTimestamp = now
		if msg.BornTimestamp == 0 {
			msg.BornTimestamp = now
		}
	}
	w.buf = AppendRecord(w.buf[:0], &msg, w.end)
	// One forward copy: TOTALSIZE and the header land before the body, as
	// with a broker's ByteBuffer.put; readers rely on CRC and Stable, not on
	// ordering.
	copy(w.seg[w.end-w.segStart:], w.buf)
	w.end += size
	return w.end, nil
}

// ensureRoom makes the current segment able to take size bytes plus a later
// blank record, sealing it and rolling to a new segment if it cannot.
func (w *Writer) ensureRoom(size int64) error {
	if w.seg != nil {
		left := w.segStart + w.layout.segSize - w.end
		if size+BlankSize <= left {
			return nil
		}
		if left >= BlankSize { // less only after recovering a foreign file
			putBlank(w.seg[w.end-w.segStart:], int(left), w.layout.blank)
		}
		w.end = w.segStart + w.layout.segSize
	}
	return w.roll()
}

// roll unmaps the current segment, leaving its sync to Flush, creates the
// next one at the current end, and applies retention.
func (w *Writer) roll() error {
	if w.seg != nil {
		w.unsynced = append(w.unsynced, w.segStart)
	}
	if err := w.closeSegment(); err != nil {
		return err
	}
	w.dirDirty = true
	if err := w.openSegment(w.end); err != nil {
		return err
	}
	w.log.Debug("segment created", zap.String("segment", w.layout.SegmentName(w.end)), zap.Int64("offset", w.end))
	return w.applyRetention()
}

// openSegment maps the segment starting at start read-write, creating it or
// extending it to full size (zero-filled, like a broker's new MappedFile).
func (w *Writer) openSegment(start int64) error {
	path := w.path(start)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("open segment: %w", err)
	}
	defer f.Close() // the map outlives the descriptor
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("stat segment %s: %w", path, err)
	}
	if st.Size() > w.layout.segSize {
		return fmt.Errorf("open segment %s: size %d > segment size %d: %w", path, st.Size(), w.layout.segSize, plugins.ErrCorrupt)
	}
	if st.Size() < w.layout.segSize {
		if err := f.Truncate(w.layout.segSize); err != nil {
			return fmt.Errorf("preallocate segment %s: %w", path, err)
		}
	}
	m, err := mmap.MapRegion(f, int(w.layout.segSize), mmap.RDWR, 0, 0)
	if err != nil {
		return fmt.Errorf("map segment %s: %w", path, err)
	}
	w.seg, w.segStart = m, start
	return nil
}

// closeSegment unmaps the current segment. Its dirty pages stay in the page
// cache, where a later fsync or the kernel's writeback finds them.
func (w *Writer) closeSegment() error {
	if w.seg == nil {
		return nil
	}
	name := w.layout.SegmentName(w.segStart)
	err := w.seg.Unmap()
	w.seg = nil
	if err != nil {
		return fmt.Errorf("unmap segment %s: %w", name, err)
	}
	return nil
}

// Flush makes everything appended so far durable: it fsyncs the segments
// sealed since the last Flush, msyncs the current one, and fsyncs the
// directory when segments were created.
func (w *Writer) Flush() error {
	if w.closed {
		return fmt.Errorf("flush %s: %w", w.dir, plugins.ErrClosed)
	}
	for len(w.unsynced) > 0 {
		if err := syncFile(w.path(w.unsynced[0])); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("flush: %w", err) // retention may have removed it: fine
		}
		w.unsynced = w.unsynced[1:]
	}
	if w.seg != nil {
		if err := w.seg.Flush(); err != nil {
			return fmt.Errorf("flush segment %s: %w", w.layout.SegmentName(w.segStart), err)
		}
	}
	if w.dirDirty {
		if err := syncFile(w.dir); err != nil {
			return fmt.Errorf("flush: %w", err)
		}
		w.dirDirty = false
	}
	return nil
}

// syncFile fsyncs a file or directory by path.
func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sync %s: %w", path, err)
	}
	return nil
}

// Close unmaps the current segment. It does not msync: the page cache keeps
// the bytes, as after a killed process; call Flush first for durability
// against a power loss. Close is idempotent.
func (w *Writer) Close() error {
	if w.closed {
		return nil
	}
	w.closed = true
	if err := w.closeSegment(); err != nil {
		return fmt.Errorf("close writer %s: %w", w.dir, err)
	}
	return nil
}

func (w *Writer) path(start int64) string {
	return filepath.Join(w.dir, w.layout.SegmentName(start))
}
