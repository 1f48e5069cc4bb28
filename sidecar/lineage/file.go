package lineage

import (
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// The .lin file (doc.go has the bytes): a HeaderSize header, then one
// RecordSize big-endian CRC-32C per complete block, in block order.
const (
	// Magic opens every lineage file.
	Magic = "HASILIN1"
	// FileVersion is the only version this package reads and writes.
	FileVersion = 1
	// HeaderSize is the size of a .lin file's header.
	HeaderSize = 32
	// RecordSize is the size of one block record.
	RecordSize = 4
	// Ext is the lineage file suffix appended to the segment's name.
	Ext = ".lin"
	// badInfix names a file moved aside: <name>.lin.bad-<unixnano>.
	badInfix = ".bad-"
	tmpExt   = ".tmp"
)

// header is a decoded .lin header.
type header struct {
	blockSize int64
	base      int64
	size      int64
}

func (h header) encode() []byte {
	b := make([]byte, HeaderSize)
	copy(b[0:8], Magic)
	binary.BigEndian.PutUint32(b[8:12], FileVersion)
	binary.BigEndian.PutUint32(b[12:16], uint32(h.blockSize))
	binary.BigEndian.PutUint64(b[16:24], uint64(h.base))
	binary.BigEndian.PutUint64(b[24:32], uint64(h.size))
	return b
}

// decodeHeader checks everything a header alone can say: ours, this
// version, this block size, a segment the store can hold.
func decodeHeader(b []byte, blockSize int64) (header, error) {
	if len(b) < HeaderSize {
		return header{}, fmt.Errorf("header of %d bytes, want %d: %w", len(b), HeaderSize, ErrCorrupt)
	}
	if string(b[0:8]) != Magic {
		return header{}, fmt.Errorf("magic %q is not %q: %w", b[0:8], Magic, ErrCorrupt)
	}
	if v := binary.BigEndian.Uint32(b[8:12]); v != FileVersion {
		return header{}, fmt.Errorf("version %d, this build reads %d: %w", v, FileVersion, ErrCorrupt)
	}
	h := header{
		blockSize: int64(binary.BigEndian.Uint32(b[12:16])),
		base:      int64(binary.BigEndian.Uint64(b[16:24])),
		size:      int64(binary.BigEndian.Uint64(b[24:32])),
	}
	if h.blockSize != blockSize {
		return h, fmt.Errorf("block size %d, this store uses %d: %w", h.blockSize, blockSize, ErrCorrupt)
	}
	if err := checkExtent(h.base, h.size); err != nil {
		return h, fmt.Errorf("header: %w", err)
	}
	return h, nil
}

// checkExtent accepts a segment [base, base+size) the store can hold.
func checkExtent(base, size int64) error {
	if base < 0 || size <= 0 || size > MaxSegment || base > 1<<62 {
		return fmt.Errorf("segment at %d of %d bytes: want base >= 0 and 0 < size <= %d: %w", base, size, int64(MaxSegment), ErrCorrupt)
	}
	return nil
}

// blocksIn is how many blocks a segment of size bytes has.
func blocksIn(size, blockSize int64) int64 {
	return (size + blockSize - 1) / blockSize
}

// checkName accepts a segment file name: one path element of ours to
// suffix with Ext.
func checkName(name string) error {
	if name == "" || name == "." || name == ".." || filepath.Base(name) != name ||
		strings.ContainsAny(name, "/\x00") || len(name)+len(Ext)+len(badInfix)+20 > 255 {
		return fmt.Errorf("segment name %q is not a plain file name: %w", name, ErrRange)
	}
	return nil
}

// loadFile reads a .lin file: its header and complete records. A torn
// trailing record is cut off the file (and fsynced) so later appends
// land on a record boundary. Anything else wrong is ErrCorrupt.
func loadFile(path string, blockSize int64) (header, []uint32, int, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return header{}, nil, 0, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return header{}, nil, 0, err
	}
	hb := make([]byte, HeaderSize)
	if _, err := io.ReadFull(f, hb); err != nil {
		return header{}, nil, 0, fmt.Errorf("read header of %d-byte file: %v: %w", st.Size(), err, ErrCorrupt)
	}
	h, err := decodeHeader(hb, blockSize)
	if err != nil {
		return h, nil, 0, err
	}
	n := (st.Size() - HeaderSize) / RecordSize
	torn := int((st.Size() - HeaderSize) % RecordSize)
	if n > blocksIn(h.size, blockSize) {
		return h, nil, 0, fmt.Errorf("%d records for a segment of %d blocks: %w", n, blocksIn(h.size, blockSize), ErrCorrupt)
	}
	raw := make([]byte, n*RecordSize)
	if _, err := io.ReadFull(f, raw); err != nil {
		return h, nil, 0, fmt.Errorf("read %d records: %w", n, err)
	}
	crcs := make([]uint32, n)
	for i := range crcs {
		crcs[i] = binary.BigEndian.Uint32(raw[i*RecordSize:])
	}
	if torn > 0 {
		if err := f.Truncate(HeaderSize + n*RecordSize); err != nil {
			return h, nil, 0, err
		}
		if err := unix.Fdatasync(int(f.Fd())); err != nil {
			return h, nil, 0, err
		}
	}
	return h, crcs, torn, nil
}

// writeFileAtomic writes b to path through path.tmp: write, fsync,
// rename, fsync the directory, so a crash leaves the old file or the new.
func writeFileAtomic(path string, b []byte) error {
	tmp := path + tmpExt
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	return syncDir(filepath.Dir(path))
}

// writeFileRenamed writes b to path through path.tmp and a rename, without
// fsync: for a new .lin file's header, which carries nothing a crash could
// lose (a lost or torn file is coverage 0, hashed again). Its data is made
// durable by the first appendRecords' fdatasync, its name by the Sync that
// follows (dirDirty). Back-filling 100,000 segments then costs no fsync per
// segment.
func writeFileRenamed(path string, b []byte) error {
	tmp := path + tmpExt
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

// appendRecords writes crcs as records from record index from on, then
// fdatasyncs; cut first truncates the file to that point (a Truncate
// whose own cut failed).
func appendRecords(path string, from int, crcs []uint32, cut bool) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	at := int64(HeaderSize + from*RecordSize)
	if cut {
		if err := f.Truncate(at); err != nil {
			return err
		}
	}
	b := make([]byte, len(crcs)*RecordSize)
	for i, c := range crcs {
		binary.BigEndian.PutUint32(b[i*RecordSize:], c)
	}
	if _, err := f.WriteAt(b, at); err != nil {
		return err
	}
	return unix.Fdatasync(int(f.Fd()))
}

// truncateRecords cuts the file after n records and fdatasyncs it.
func truncateRecords(path string, n int) error {
	return appendRecords(path, n, nil, true)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
