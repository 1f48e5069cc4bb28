package fsio

import (
	"errors"
	"io/fs"
	"os"
)

// ErrNotOSFile means a File has no operating-system file under it, which
// mmap needs.
var ErrNotOSFile = errors.New("fsio: not backed by an operating-system file")

// FS is the file system as the applier and the tailer use it. Paths are
// operating-system paths. The methods are safe for concurrent use.
type FS interface {
	// OpenFile opens or creates name with os.OpenFile's flags and mode.
	OpenFile(name string, flag int, perm fs.FileMode) (File, error)
	// Stat returns name's file information, following symbolic links.
	Stat(name string) (fs.FileInfo, error)
	// ReadDir lists dir, sorted by name.
	ReadDir(dir string) ([]fs.DirEntry, error)
	// MkdirAll creates dir and any missing parents.
	MkdirAll(dir string, perm fs.FileMode) error
	// Rename moves oldpath to newpath, replacing newpath atomically.
	Rename(oldpath, newpath string) error
	// Remove deletes the file or empty directory name.
	Remove(name string) error
	// SyncDir makes the entries created, renamed or removed in dir durable.
	SyncDir(dir string) error
}

// File is an open file. Its methods follow os.File's, plus WriteV and
// Datasync; see the package documentation for their contracts.
type File interface {
	// Name is the path the file was opened with.
	Name() string
	// ReadAt is io.ReaderAt (pread).
	ReadAt(p []byte, off int64) (int, error)
	// WriteAt is io.WriterAt (pwrite): n < len(p) only with an error.
	WriteAt(p []byte, off int64) (int, error)
	// WriteV writes pieces at off with one pwritev(2) and returns how many
	// bytes it wrote, possibly fewer than given and then without an error.
	WriteV(pieces [][]byte, off int64) (int, error)
	// Datasync flushes the file's data and size to stable storage.
	Datasync() error
	// Truncate changes the file's size.
	Truncate(size int64) error
	// Stat returns the open file's information.
	Stat() (fs.FileInfo, error)
	// Seek is lseek(2); the applier uses SEEK_DATA and SEEK_HOLE.
	Seek(offset int64, whence int) (int64, error)
	// Fd is the file descriptor, valid until Close.
	Fd() uintptr
	// Close closes the file.
	Close() error
}

// Or returns fsys, or the operating system's file system when fsys is nil:
// the default of every Options.FS.
func Or(fsys FS) FS {
	if fsys == nil {
		return OS()
	}
	return fsys
}

// OSFile returns the *os.File under f, unwrapping wrappers that have an
// Unwrap() File method, or nil when f is not backed by one.
func OSFile(f File) *os.File {
	for f != nil {
		switch v := f.(type) {
		case *osFile:
			return v.File
		case interface{ Unwrap() File }:
			f = v.Unwrap()
		default:
			return nil
		}
	}
	return nil
}

// WriteV is f.WriteV for callers on a hot path. On the operating system's
// file it is a direct call, so a caller's slice of pieces can stay on its
// stack (escape analysis cannot see through an interface call); any other
// File gets a copy of the slice.
func WriteV(f File, pieces [][]byte, off int64) (int, error) {
	if of, ok := f.(*osFile); ok {
		return of.WriteV(pieces, off)
	}
	return f.WriteV(append([][]byte(nil), pieces...), off)
}
