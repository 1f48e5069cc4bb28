package fsiotest

import (
	"io"
	"io/fs"
	"time"

	"github.com/hasidecar/hasidecar/plugins/fsio"
)

// file is a File of the FS: each call is decided by the FS's faults.
type file struct {
	fs    *FS
	inner fsio.File
}

var _ fsio.File = (*file)(nil)

// Unwrap returns the inner file (fsio.OSFile uses it for mmap).
func (f *file) Unwrap() fsio.File { return f.inner }

func (f *file) Name() string { return f.inner.Name() }
func (f *file) Fd() uintptr  { return f.inner.Fd() }

func (f *file) ReadAt(p []byte, off int64) (int, error) {
	if err := f.fs.act(OpRead, f.Name()); err != nil {
		return 0, err
	}
	return f.inner.ReadAt(p, off)
}

// WriteAt keeps io.WriterAt's rule: a short write comes with an error.
func (f *file) WriteAt(p []byte, off int64) (int, error) {
	short, err := f.write()
	switch {
	case short:
		n, werr := f.inner.WriteAt(p[:len(p)/2], off)
		if werr != nil {
			return n, werr
		}
		if err == nil {
			err = &fs.PathError{Op: OpWrite.String(), Path: f.Name(), Err: io.ErrShortWrite}
		}
		return n, err
	case err != nil:
		return 0, err
	}
	return f.inner.WriteAt(p, off)
}

// WriteV may return a short count without an error, as pwritev may.
func (f *file) WriteV(pieces [][]byte, off int64) (int, error) {
	short, err := f.write()
	switch {
	case short:
		n, werr := f.inner.WriteV(firstHalf(pieces), off)
		if werr != nil {
			return n, werr
		}
		return n, err
	case err != nil:
		return 0, err
	}
	return f.inner.WriteV(pieces, off)
}

// write decides a write call: whether to write short, and the error.
func (f *file) write() (short bool, err error) {
	ft := f.fs.decide(OpWrite, f.Name())
	if ft == nil {
		return false, nil
	}
	if ft.Delay > 0 {
		time.Sleep(ft.Delay)
	}
	if ft.Err != nil {
		err = &fs.PathError{Op: OpWrite.String(), Path: f.Name(), Err: ft.Err}
	}
	return ft.Short, err
}

// firstHalf returns the first half (rounded down) of the bytes of pieces,
// without changing pieces.
func firstHalf(pieces [][]byte) [][]byte {
	total := 0
	for _, p := range pieces {
		total += len(p)
	}
	left := total / 2
	var out [][]byte
	for _, p := range pieces {
		if left == 0 {
			break
		}
		k := min(left, len(p))
		out = append(out, p[:k])
		left -= k
	}
	if len(out) == 0 {
		out = [][]byte{{}}
	}
	return out
}

func (f *file) Datasync() error {
	if err := f.fs.act(OpSync, f.Name()); err != nil {
		return err
	}
	return f.inner.Datasync()
}

func (f *file) Truncate(size int64) error {
	if err := f.fs.act(OpTruncate, f.Name()); err != nil {
		return err
	}
	return f.inner.Truncate(size)
}

func (f *file) Stat() (fs.FileInfo, error) {
	if err := f.fs.act(OpStat, f.Name()); err != nil {
		return nil, err
	}
	return f.inner.Stat()
}

func (f *file) Seek(offset int64, whence int) (int64, error) {
	if err := f.fs.act(OpSeek, f.Name()); err != nil {
		return 0, err
	}
	return f.inner.Seek(offset, whence)
}

// Close closes the inner file even when a fault hits, so a test leaks no
// descriptor; the fault's error is returned.
func (f *file) Close() error {
	ferr := f.fs.act(OpClose, f.Name())
	err := f.inner.Close()
	if ferr != nil {
		return ferr
	}
	return err
}
