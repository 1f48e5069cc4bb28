package fsio

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"golang.org/x/sys/unix"
)

// IOVMax is Linux's limit on the pieces of one pwritev; WriteV writes at
// most that many and reports the shorter count.
const IOVMax = 1024

// OS returns the operating system's file system.
func OS() FS { return osFS{} }

type osFS struct{}

var (
	_ FS   = osFS{}
	_ File = (*osFile)(nil)
)

func (osFS) OpenFile(name string, flag int, perm fs.FileMode) (File, error) {
	f, err := os.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return &osFile{f}, nil
}

func (osFS) Stat(name string) (fs.FileInfo, error)       { return os.Stat(name) }
func (osFS) ReadDir(dir string) ([]fs.DirEntry, error)   { return os.ReadDir(dir) }
func (osFS) MkdirAll(dir string, perm fs.FileMode) error { return os.MkdirAll(dir, perm) }
func (osFS) Rename(oldpath, newpath string) error        { return os.Rename(oldpath, newpath) }
func (osFS) Remove(name string) error                    { return os.Remove(name) }

func (osFS) SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open directory %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}

// osFile is an *os.File with WriteV and Datasync.
type osFile struct{ *os.File }

// WriteV is one pwritev; a single piece goes through os.File.WriteAt,
// which already finishes short writes.
func (f *osFile) WriteV(pieces [][]byte, off int64) (int, error) {
	if len(pieces) == 1 {
		return f.File.WriteAt(pieces[0], off)
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return 0, err
	}
	var n int
	var werr error
	if err := rc.Write(func(fd uintptr) bool {
		for {
			n, werr = unix.Pwritev(int(fd), pieces[:min(len(pieces), IOVMax)], off)
			if !errors.Is(werr, unix.EINTR) {
				return true
			}
		}
	}); err != nil {
		return 0, err
	}
	if werr != nil {
		return max(n, 0), &fs.PathError{Op: "pwritev", Path: f.Name(), Err: werr}
	}
	return n, nil
}

// Datasync is fdatasync(2), retried on EINTR: cheaper than fsync (no
// timestamps), as safe for reading the data back.
func (f *osFile) Datasync() error {
	for {
		err := unix.Fdatasync(int(f.Fd()))
		if !errors.Is(err, unix.EINTR) {
			if err != nil {
				return &fs.PathError{Op: "fdatasync", Path: f.Name(), Err: err}
			}
			return nil
		}
	}
}
