package applier

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"os"
	"path/filepath"

	"github.com/hasidecar/hasidecar/plugins/fsio"
)

// Journal geometry; doc.go describes every byte.
const (
	// JournalName is the chunk journal's file name inside the state directory.
	JournalName = "applier.journal"

	recordSize   = 32
	recordCRCAt  = recordSize - 4
	journalMagic = 0x48534A31 // "HSJ1": hasidecar journal, version 1

	// defaultJournalMax is how many records a generation holds before
	// ApplyV forces a sync (which starts the next generation): 1 MiB of
	// journal, whatever the sync policy.
	defaultJournalMax = 1 << 15
)

// errBadRecord means a journal record is torn, damaged or not a record: the
// end of what the journal can prove. It never leaves the package.
var errBadRecord = errors.New("applier: invalid journal record")

// errChunkTooLong means a chunk's length does not fit a record's field; the
// chunk is synced instead of journaled.
var errChunkTooLong = errors.New("applier: chunk too long for a journal record")

// record is one journal entry: the chunk [Off, Off+Len), whose bytes have
// CRC-32C Sum, was written after the checkpoint with sequence number Gen.
type record struct {
	Gen uint64
	Off int64
	Len uint32
	Sum uint32
}

func (r record) end() int64 { return r.Off + int64(r.Len) }

// encodeRecord fills b[:recordSize] with r.
func encodeRecord(b []byte, r record) {
	binary.BigEndian.PutUint32(b[0:4], journalMagic)
	binary.BigEndian.PutUint32(b[4:8], r.Len)
	binary.BigEndian.PutUint64(b[8:16], r.Gen)
	binary.BigEndian.PutUint64(b[16:24], uint64(r.Off))
	binary.BigEndian.PutUint32(b[24:28], r.Sum)
	binary.BigEndian.PutUint32(b[recordCRCAt:], crc32.Checksum(b[:recordCRCAt], castagnoli))
}

// decodeRecord parses one record. Anything but a whole, intact record is
// errBadRecord: a crash can tear the last append, a host crash can leave
// any page of the file stale or zero.
func decodeRecord(b []byte) (record, error) {
	if len(b) < recordSize {
		return record{}, fmt.Errorf("decode journal record of %d bytes: %w", len(b), errBadRecord)
	}
	if crc32.Checksum(b[:recordCRCAt], castagnoli) != binary.BigEndian.Uint32(b[recordCRCAt:]) {
		return record{}, fmt.Errorf("decode journal record: crc mismatch: %w", errBadRecord)
	}
	if binary.BigEndian.Uint32(b[0:4]) != journalMagic {
		return record{}, fmt.Errorf("decode journal record: unknown magic: %w", errBadRecord)
	}
	r := record{
		Len: binary.BigEndian.Uint32(b[4:8]),
		Gen: binary.BigEndian.Uint64(b[8:16]),
		Off: int64(binary.BigEndian.Uint64(b[16:24])),
		Sum: binary.BigEndian.Uint32(b[24:28]),
	}
	if r.Len == 0 || r.Off < 0 || r.Off > math.MaxInt64-int64(r.Len) {
		return record{}, fmt.Errorf("decode journal record: offset %d length %d: %w", r.Off, r.Len, errBadRecord)
	}
	return r, nil
}

// journal is the open chunk journal. A generation is tied to the
// checkpoint written last (its seq); its records start at byte 0 and follow
// each other, so a new generation overwrites the old one in place.
type journal struct {
	f    fsio.File
	path string
	gen  uint64 // seq of the checkpoint the records follow
	n    int    // records of this generation written
	max  int    // records a generation may hold
	// stale means records of this generation may lie at n and after (left
	// by a rollback or by an earlier run): truncate before the next append.
	stale bool
	buf   [recordSize]byte
}

// openJournal opens (creating if needed) the journal in dir.
func openJournal(fsys fsio.FS, dir string) (*journal, error) {
	path := filepath.Join(dir, JournalName)
	f, err := fsys.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open journal %s: %w", path, err)
	}
	return &journal{f: f, path: path, max: defaultJournalMax, stale: true}, nil
}

// append records a chunk written after checkpoint gen, with one write and
// no sync: it must survive the process, not the host.
func (j *journal) append(off, n int64, sum uint32) error {
	if n <= 0 || n > math.MaxUint32 {
		return fmt.Errorf("journal %d bytes at offset %d: %w", n, off, errChunkTooLong)
	}
	if j.stale {
		if err := j.f.Truncate(0); err != nil {
			return &IOError{Op: "truncate journal", Path: j.path, Offset: off, Err: err}
		}
		j.stale = false
	}
	encodeRecord(j.buf[:], record{Gen: j.gen, Off: off, Len: uint32(n), Sum: sum})
	if err := writeAt(j.f, j.buf[:], int64(j.n)*recordSize); err != nil {
		// The record may be half written: never append after it.
		j.stale = true
		return &IOError{Op: "write journal", Path: j.path, Offset: off, Err: err}
	}
	j.n++
	return nil
}

// full reports that the generation holds its maximum of records.
func (j *journal) full() bool { return j.n >= j.max }

// restart begins the generation that follows checkpoint gen. The previous
// generation's records stay in the file until overwritten: recovery ignores
// them by their gen.
func (j *journal) restart(gen uint64) {
	j.gen, j.n = gen, 0
}

// rewind forgets this generation's records after End fell back to the
// checkpoint (a failed sync): the chunks are applied again, and the old
// records must not follow the new ones. The file is emptied at once: after
// a failed fdatasync the page cache may still hold bytes that will never
// reach the disk, and a recovery must not prove them from it and then
// checkpoint them as synced. If emptying fails, the next append retries.
func (j *journal) rewind() error {
	j.n, j.stale = 0, true
	if err := j.f.Truncate(0); err != nil {
		return &IOError{Op: "truncate journal", Path: j.path, Err: err}
	}
	j.stale = false
	return nil
}

// clear empties the journal durably, before a new checkpoint file restarts
// the sequence numbers: no record of an earlier file may match them.
func (j *journal) clear() error {
	if err := j.f.Truncate(0); err != nil {
		return &IOError{Op: "truncate journal", Path: j.path, Err: err}
	}
	if err := j.f.Datasync(); err != nil {
		return &IOError{Op: "sync journal", Path: j.path, Err: err}
	}
	j.n, j.stale = 0, false
	return nil
}

func (j *journal) close() error { return j.f.Close() }

// crcPieces is the CRC-32C of a chunk held in pieces.
func crcPieces(pieces [][]byte) uint32 {
	var sum uint32
	for _, p := range pieces {
		sum = crc32.Update(sum, castagnoli, p)
	}
	return sum
}
