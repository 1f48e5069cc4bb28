package plugins

import (
	"errors"
	"fmt"
)

// Info is a layout's fixed description. Master and slave must agree on all of
// it, or the slave would build a directory that differs from the master's.
type Info struct {
	// Name identifies the layout ("rocketmq", "raw", or a plugin's own name).
	Name string
	// SegmentSize is the fixed size in bytes of every segment; > 0.
	SegmentSize int64
	// Preallocated is true when segments are created at full size and
	// zero-filled: file size then says nothing about where data ends. When
	// false, segments grow by append and the valid end is bounded by the size.
	Preallocated bool
}

// Scan reports where the valid data of one segment ends.
type Scan struct {
	// End is the absolute offset just past the last valid byte of the
	// segment: start <= End <= start+SegmentSize.
	End int64
	// Stable is the absolute offset up to which bytes are final because a
	// later record has already started (or the layout's writer never rewrites
	// bytes, as with write(2) appends). Stable <= End. The bytes in
	// [Stable, End) form the last record, which the writer may still be
	// changing; the tailer ships them only after they settle or a writer hint
	// covers them.
	Stable int64
	// Full is true when the writer has sealed the segment (RocketMQ's blank
	// end-of-segment record, or data up to the segment's last byte). End and
	// Stable are then both start+SegmentSize and the next data is in the
	// next segment.
	Full bool
	// Reason, when not empty, says why the bytes at End are not valid data
	// though they are not empty either (an unknown magic code, a CRC
	// mismatch, a size out of range): what a tailer that cannot advance
	// reports. Empty when what follows End is zero, short or unknown.
	Reason string
}

// Layout is the storage-layout contract. Implementations must be safe for
// concurrent use by several goroutines.
type Layout interface {
	// Info returns the layout's fixed description. It never changes.
	Info() Info

	// SegmentName returns the file name (base name, no directory) of the
	// segment whose first byte is at absolute offset start. start is a
	// multiple of SegmentSize, or the first offset of an empty slave's first
	// segment rounded down to one.
	SegmentName(start int64) string

	// ParseName returns the start offset encoded in a segment file name.
	// ok is false for any file that is not a segment of this layout (foreign
	// files, temporary files, checkpoints): callers skip those.
	ParseName(name string) (start int64, ok bool)

	// Scan examines the segment file at path, whose first byte is at absolute
	// offset start, beginning at absolute offset from, and returns where its
	// valid data ends. from is start, or an End or Stable that an earlier Scan
	// of the same file returned (a record boundary). The file may be growing
	// or being written through mmap while Scan runs: Scan reads each byte it
	// needs once, never reads past the file's current size, and reports only
	// data that validates. A missing file is an error wrapping fs.ErrNotExist.
	Scan(path string, start, from int64) (Scan, error)

	// IsBoundary reports whether absolute offset off, inside the segment at
	// path that starts at start and below a valid end an earlier Scan
	// returned, is the first byte of a record (or the segment's start). The
	// master calls it once per connection, to refuse a slave's report that
	// would make it ship bytes from the middle of a record.
	IsBoundary(path string, start, off int64) (bool, error)
}

// MappedScanner is an optional extension of a Layout: ScanMapped is Scan
// over data, the segment's bytes from its start as the caller has them
// mapped (at most SegmentSize, at most the file's size), instead of over
// the file at a path. A tailer that keeps the live segment mapped calls it
// for most polls and saves the open, fstat, read and close of a Scan. The
// same rules hold: the bytes may change while it runs (each byte it needs
// is read once), only data that validates is reported, and nothing past
// len(data) is touched. The caller catches a fault (a file truncated under
// its mapping) with CatchFault.
type MappedScanner interface {
	ScanMapped(data []byte, start, from int64) (Scan, error)
}

// Errors shared by all layouts. Implementations wrap them with context.
var (
	// ErrBadConfig means the layout's options are invalid.
	ErrBadConfig = errors.New("plugins: invalid layout configuration")
	// ErrCorrupt means a segment holds bytes the layout cannot accept at a
	// place where it expected valid data (not merely the end of the data).
	ErrCorrupt = errors.New("plugins: corrupt segment")
	// ErrRange means an offset passed to Scan or IsBoundary lies outside the
	// segment [start, start+SegmentSize]: a caller bug, not a data problem.
	ErrRange = errors.New("plugins: offset outside the segment")
	// ErrNotSegment means the path is not a regular file.
	ErrNotSegment = errors.New("plugins: not a segment file")
	// ErrClosed means a layout's writer, or an external layout, was used
	// after Close.
	ErrClosed = errors.New("plugins: closed")
)

// SegmentStart rounds off down to the start of the segment that holds it.
func SegmentStart(info Info, off int64) int64 {
	return off - off%info.SegmentSize
}

// Check validates an Info, for layouts and for a peer's announced layout.
func (i Info) Check() error {
	if i.Name == "" {
		return fmt.Errorf("layout name is empty: %w", ErrBadConfig)
	}
	if i.SegmentSize <= 0 {
		return fmt.Errorf("layout %s: segment size %d: %w", i.Name, i.SegmentSize, ErrBadConfig)
	}
	return nil
}

// String renders the Info for log lines and mismatch errors.
func (i Info) String() string {
	return fmt.Sprintf("%s/%d/prealloc=%t", i.Name, i.SegmentSize, i.Preallocated)
}
