package applier

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/hasidecar/hasidecar/plugins/fsio"
)

// lockState takes an exclusive advisory lock on the state directory so two
// appliers never write the same directory. The lock dies with the process.
func lockState(fsys fsio.FS, dir string) (fsio.File, error) {
	path := filepath.Join(dir, lockName)
	f, err := fsys.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open lock %s: %w", path, err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		_ = f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("lock %s: %w", path, ErrBusy)
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return f, nil
}

const zeroBlock = 4096

var zeros [1 << 20]byte

// readSeeker is what nonZeroRange needs of a file (an fsio.File or an
// *os.File).
type readSeeker interface {
	io.ReaderAt
	io.Seeker
}

// nonZeroRange returns the smallest block-aligned range [lo, hi) within
// [from, to) outside which the file reads as zeros; lo == hi when all of it
// does. Holes are skipped with SEEK_DATA/SEEK_HOLE, so the untouched part of
// a freshly truncated (sparse) segment costs nothing to check.
func nonZeroRange(f readSeeker, from, to int64) (lo, hi int64, err error) {
	lo, hi = to, to
	buf := make([]byte, len(zeros))
	for pos := from; pos < to; {
		d, h := dataExtent(f, pos, to)
		if d >= to {
			break
		}
		for p := d; p < h; {
			n := int(min(int64(len(buf)), h-p))
			if _, err := f.ReadAt(buf[:n], p); err != nil && !errors.Is(err, io.EOF) {
				return 0, 0, err
			}
			for i := 0; i < n; i += zeroBlock {
				blk := buf[i:min(n, i+zeroBlock)]
				if !bytes.Equal(blk, zeros[:len(blk)]) {
					lo = min(lo, p+int64(i))
					hi = p + int64(i+len(blk))
				}
			}
			p += int64(n)
		}
		pos = h
	}
	if lo >= hi {
		return to, to, nil
	}
	return lo, hi, nil
}

// dataExtent returns the next data region [d, h) at or after pos, clipped to
// to; d >= to when only a hole remains. A filesystem without SEEK_DATA gets
// the whole rest of the range.
func dataExtent(f io.Seeker, pos, to int64) (d, h int64) {
	d, err := f.Seek(pos, unix.SEEK_DATA)
	if errors.Is(err, unix.ENXIO) {
		return to, to
	}
	if err != nil {
		return pos, to
	}
	h, err = f.Seek(d, unix.SEEK_HOLE)
	if err != nil {
		h = to
	}
	return d, min(h, to)
}

// writeZeros overwrites [lo, hi) of f with zeros.
func writeZeros(f io.WriterAt, lo, hi int64) error {
	for p := lo; p < hi; {
		n := min(int64(len(zeros)), hi-p)
		if err := writeAt(f, zeros[:n], p); err != nil {
			return err
		}
		p += n
	}
	return nil
}
