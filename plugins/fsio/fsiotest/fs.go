package fsiotest

import (
	"io/fs"
	"time"

	"github.com/hasidecar/hasidecar/plugins/fsio"
)

// act applies the fault deciding a call that is not a write: it sleeps the
// Delay and returns the error to fail with, or nil to go through.
func (e *FS) act(op Op, paths ...string) error {
	f := e.decide(op, paths...)
	if f == nil {
		return nil
	}
	if f.Delay > 0 {
		time.Sleep(f.Delay)
	}
	if f.Err == nil {
		return nil
	}
	return &fs.PathError{Op: op.String(), Path: paths[0], Err: f.Err}
}

// OpenFile opens through the inner FS and wraps the file.
func (e *FS) OpenFile(name string, flag int, perm fs.FileMode) (fsio.File, error) {
	if err := e.act(OpOpen, name); err != nil {
		return nil, err
	}
	f, err := e.inner.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return &file{fs: e, inner: f}, nil
}

// Stat stats through the inner FS.
func (e *FS) Stat(name string) (fs.FileInfo, error) {
	if err := e.act(OpStat, name); err != nil {
		return nil, err
	}
	return e.inner.Stat(name)
}

// ReadDir lists through the inner FS.
func (e *FS) ReadDir(dir string) ([]fs.DirEntry, error) {
	if err := e.act(OpReadDir, dir); err != nil {
		return nil, err
	}
	return e.inner.ReadDir(dir)
}

// MkdirAll creates through the inner FS.
func (e *FS) MkdirAll(dir string, perm fs.FileMode) error {
	if err := e.act(OpMkdir, dir); err != nil {
		return err
	}
	return e.inner.MkdirAll(dir, perm)
}

// Rename renames through the inner FS; a fault on either path hits it.
func (e *FS) Rename(oldpath, newpath string) error {
	if err := e.act(OpRename, oldpath, newpath); err != nil {
		return err
	}
	return e.inner.Rename(oldpath, newpath)
}

// Remove removes through the inner FS.
func (e *FS) Remove(name string) error {
	if err := e.act(OpRemove, name); err != nil {
		return err
	}
	return e.inner.Remove(name)
}

// SyncDir syncs through the inner FS.
func (e *FS) SyncDir(dir string) error {
	if err := e.act(OpSyncDir, dir); err != nil {
		return err
	}
	return e.inner.SyncDir(dir)
}
