package lineage

import (
	"errors"
	"hash/crc32"
	"io"

	"go.uber.org/zap"
)

// BlockSize is the lineage block: one CRC-32C per BlockSize bytes of a
// segment, counted from the segment's base.
const BlockSize = 1 << 20

// MaxSegment bounds a segment the store keeps lineage for: its CRCs stay
// in memory (4 MiB for 1 TiB).
const MaxSegment = 1 << 40

var (
	// ErrGap means an Append that does not continue the coverage.
	ErrGap = errors.New("lineage: append not contiguous with coverage")
	// ErrRange means an offset outside the segment or the coverage.
	ErrRange = errors.New("lineage: offset out of range")
	// ErrCorrupt means a lineage file that cannot be trusted.
	ErrCorrupt = errors.New("lineage: corrupt lineage file")
	// ErrUnknown means a segment that was never registered.
	ErrUnknown = errors.New("lineage: unknown segment")
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// SegmentInfo describes one segment's lineage.
type SegmentInfo struct {
	Base, Size int64
	Name       string
	// Covered is the absolute end of the hashed bytes (Store.Covered).
	Covered int64
}

// Store keeps the lineage of a directory's segments. It is safe for
// concurrent use.
type Store struct {
	log *zap.Logger
	dir string
}

var errNotImplemented = errors.New("lineage: not implemented")

// Open loads every .lin file of dir, creating dir (0700) if needed.
func Open(log *zap.Logger, dir string) (*Store, error) {
	if log == nil {
		log = zap.NewNop()
	}
	return &Store{log: log, dir: dir}, nil
}

// Close syncs the store.
func (s *Store) Close() error { return errNotImplemented }

// Segment registers a segment (idempotent).
func (s *Store) Segment(base, size int64, name string) error { return errNotImplemented }

// Append hashes p, the bytes at absolute offset off of segment base.
func (s *Store) Append(base, off int64, p []byte) error { return errNotImplemented }

// Covered is the absolute end up to which the segment's bytes are hashed.
func (s *Store) Covered(base int64) (int64, bool) { return base, false }

// Truncate drops coverage at and above end, rounded down to a block start.
func (s *Store) Truncate(base, end int64) error { return errNotImplemented }

// Forget removes the segment's lineage.
func (s *Store) Forget(base int64) error { return errNotImplemented }

// Sync appends queued records to their .lin files and fdatasyncs them.
func (s *Store) Sync() error { return errNotImplemented }

// Blocks returns the digests of the blocks of segment base that start in [from, to).
func (s *Store) Blocks(base, from, to int64) ([]uint32, error) { return nil, errNotImplemented }

// Rollup returns the rollup of the first n complete blocks.
func (s *Store) Rollup(base int64, n int) (uint32, error) { return 0, errNotImplemented }

// Segments lists registered segments, oldest first.
func (s *Store) Segments() []SegmentInfo { return nil }

// Rebuild recomputes the segment's lineage from r (the segment file:
// offset 0 is base) over [base, end).
func (s *Store) Rebuild(base, end int64, r io.ReaderAt) error { return errNotImplemented }

// Stamp records the file's size and mtime as confirmed for the current coverage.
func (s *Store) Stamp(base int64, size int64, mtimeNs int64) error { return errNotImplemented }

// Stamped returns the last Stamp of the segment.
func (s *Store) Stamped(base int64) (size, mtimeNs int64, ok bool) { return 0, 0, false }

// BlockCRC is the CRC-32C of p.
func BlockCRC(p []byte) uint32 { return crc32.Checksum(p, castagnoli) }

// RollupOf is the CRC-32C of crcs written big-endian.
func RollupOf(crcs []uint32) uint32 {
	var b [4]byte
	var c uint32
	for _, x := range crcs {
		b[0], b[1], b[2], b[3] = byte(x>>24), byte(x>>16), byte(x>>8), byte(x)
		c = crc32.Update(c, castagnoli, b[:])
	}
	return c
}

// BlocksOf returns the digests of the blocks of p, whose first byte lies
// at offset start relative to its segment's base.
func BlocksOf(p []byte, start int64) []uint32 { return nil }
