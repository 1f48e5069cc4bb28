package applier

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/hasidecar/hasidecar/plugins"
	"github.com/hasidecar/hasidecar/plugins/fsio"
)

// Checkpoint file geometry; doc.go describes every byte.
const (
	// CheckpointName is the checkpoint's file name inside the state directory.
	CheckpointName = "applier.checkpoint"
	lockName       = "applier.lock"

	slotSize       = 128
	slotStride     = 512 // one slot per 512-byte sector: a torn write cannot reach the other
	checkpointSize = 2 * slotStride
	maxNameLen     = 72
	crcAt          = slotSize - 4

	ckptMagic    = 0x48534143 // "HSAC": hasidecar applier checkpoint
	ckptVersion  = 1
	flagPrealloc = 1
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// state is what a checkpoint slot records.
type state struct {
	Seq  uint64
	Base int64
	End  int64
	Info plugins.Info
}

// encodeSlot fills b[:slotSize] with s. The name must fit (checked at Open).
func encodeSlot(b []byte, s state) {
	clear(b[:slotSize])
	binary.BigEndian.PutUint32(b[0:4], ckptMagic)
	binary.BigEndian.PutUint16(b[4:6], ckptVersion)
	if s.Info.Preallocated {
		b[6] = flagPrealloc
	}
	b[7] = byte(len(s.Info.Name))
	binary.BigEndian.PutUint64(b[8:16], s.Seq)
	binary.BigEndian.PutUint64(b[16:24], uint64(s.Base))
	binary.BigEndian.PutUint64(b[24:32], uint64(s.End))
	binary.BigEndian.PutUint64(b[32:40], uint64(s.Info.SegmentSize))
	copy(b[40:40+maxNameLen], s.Info.Name)
	binary.BigEndian.PutUint32(b[crcAt:], crc32.Checksum(b[:crcAt], castagnoli))
}

// decodeSlot parses one slot. Any inconsistency is ErrCorruptCheckpoint:
// the bytes come from disk and may be torn or damaged.
func decodeSlot(b []byte) (state, error) {
	if len(b) < slotSize {
		return state{}, fmt.Errorf("decode slot of %d bytes: %w", len(b), ErrCorruptCheckpoint)
	}
	if crc32.Checksum(b[:crcAt], castagnoli) != binary.BigEndian.Uint32(b[crcAt:]) {
		return state{}, fmt.Errorf("decode slot: crc mismatch: %w", ErrCorruptCheckpoint)
	}
	if binary.BigEndian.Uint32(b[0:4]) != ckptMagic || binary.BigEndian.Uint16(b[4:6]) != ckptVersion {
		return state{}, fmt.Errorf("decode slot: unknown magic or version: %w", ErrCorruptCheckpoint)
	}
	n := int(b[7])
	if b[6]&^flagPrealloc != 0 || n == 0 || n > maxNameLen {
		return state{}, fmt.Errorf("decode slot: bad flags or name length: %w", ErrCorruptCheckpoint)
	}
	s := state{
		Seq:  binary.BigEndian.Uint64(b[8:16]),
		Base: int64(binary.BigEndian.Uint64(b[16:24])),
		End:  int64(binary.BigEndian.Uint64(b[24:32])),
		Info: plugins.Info{
			Name:         string(b[40 : 40+n]),
			SegmentSize:  int64(binary.BigEndian.Uint64(b[32:40])),
			Preallocated: b[6]&flagPrealloc != 0,
		},
	}
	if s.Base < 0 || s.End < s.Base || s.Info.SegmentSize <= 0 {
		return state{}, fmt.Errorf("decode slot: base %d end %d segment size %d: %w",
			s.Base, s.End, s.Info.SegmentSize, ErrCorruptCheckpoint)
	}
	return s, nil
}

// decodeCheckpoint returns the valid slot with the higher sequence number.
func decodeCheckpoint(b []byte) (state, error) {
	var best state
	found := false
	var errs []error
	for i := 0; i < 2; i++ {
		lo := i * slotStride
		if lo >= len(b) {
			break
		}
		s, err := decodeSlot(b[lo:min(len(b), lo+slotSize)])
		if err != nil {
			errs = append(errs, fmt.Errorf("slot %d: %w", i, err))
			continue
		}
		if !found || s.Seq > best.Seq {
			best, found = s, true
		}
	}
	if !found {
		return state{}, fmt.Errorf("decode checkpoint: no valid slot: %w", errors.Join(append(errs, ErrCorruptCheckpoint)...))
	}
	return best, nil
}

// checkpoint is the open checkpoint file. Writes alternate between the two
// slots, so the slot holding the last durable state is never overwritten.
type checkpoint struct {
	f    fsio.File
	path string
	seq  uint64
	buf  [slotSize]byte
}

// readCheckpoint loads the checkpoint in dir; found is false if there is none.
func readCheckpoint(fsys fsio.FS, dir string) (st state, found bool, err error) {
	path := filepath.Join(dir, CheckpointName)
	b, err := readHead(fsys, path, checkpointSize)
	if errors.Is(err, fs.ErrNotExist) {
		return state{}, false, nil
	}
	if err != nil {
		return state{}, false, fmt.Errorf("read checkpoint %s: %w", path, err)
	}
	st, err = decodeCheckpoint(b)
	if err != nil {
		return state{}, true, fmt.Errorf("read checkpoint %s (remove it to recover by scanning the segments): %w", path, err)
	}
	return st, true, nil
}

// readHead returns the first n bytes of the file at path (fewer if it is
// shorter): all that decoding looks at.
func readHead(fsys fsio.FS, path string, n int) ([]byte, error) {
	f, err := fsys.OpenFile(path, os.O_RDONLY, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b := make([]byte, n)
	k, err := f.ReadAt(b, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return b[:k], nil
}

// openCheckpoint opens the existing checkpoint for writing after st.
func openCheckpoint(fsys fsio.FS, dir string, st state) (*checkpoint, error) {
	path := filepath.Join(dir, CheckpointName)
	f, err := fsys.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("open checkpoint %s: %w", path, err)
	}
	return &checkpoint{f: f, path: path, seq: st.Seq}, nil
}

// createCheckpoint writes a new checkpoint holding st atomically: a
// temporary file is written and synced, renamed over the name, and the
// directory is synced, so a crash leaves either no checkpoint or this one.
func createCheckpoint(fsys fsio.FS, dir string, st state) (*checkpoint, error) {
	path := filepath.Join(dir, CheckpointName)
	tmp := path + ".tmp"
	f, err := fsys.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("create checkpoint %s: %w", tmp, err)
	}
	c := &checkpoint{f: f, path: path, seq: 0}
	err = f.Truncate(checkpointSize)
	if err == nil {
		err = c.write(st)
	}
	if err == nil {
		err = fsys.Rename(tmp, path)
	}
	if err == nil {
		err = fsys.SyncDir(dir)
	}
	if err != nil {
		_ = f.Close()
		_ = fsys.Remove(tmp)
		return nil, fmt.Errorf("create checkpoint %s: %w", path, err)
	}
	return c, nil
}

// write records st in the slot the last write did not use and makes it
// durable. The caller has already synced the data st describes.
func (c *checkpoint) write(st state) error {
	st.Seq = c.seq + 1
	encodeSlot(c.buf[:], st)
	at := int64(st.Seq%2) * slotStride
	if err := writeAt(c.f, c.buf[:], at); err != nil {
		return &IOError{Op: "write checkpoint", Path: c.path, Offset: st.End, Err: err}
	}
	if err := c.f.Datasync(); err != nil {
		return &IOError{Op: "sync checkpoint", Path: c.path, Offset: st.End, Err: err}
	}
	c.seq = st.Seq
	return nil
}

func (c *checkpoint) close() error { return c.f.Close() }
