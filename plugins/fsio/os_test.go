package fsio_test

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/hasidecar/hasidecar/plugins/fsio"
)

// TestOS: the OS file system writes pieces with WriteV, syncs, renames and
// reports errors as the os package does.
func TestOS(t *testing.T) {
	dir := t.TempDir()
	osfs := fsio.Or(nil)
	path := filepath.Join(dir, "f")
	f, err := osfs.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	pieces := make([][]byte, fsio.IOVMax+1)
	for i := range pieces {
		pieces[i] = []byte{byte(i)}
	}
	if n, err := f.WriteV(pieces, 10); n != fsio.IOVMax || err != nil {
		t.Fatalf("WriteV of %d pieces = %d, %v; want %d (IOV_MAX), nil", len(pieces), n, err, fsio.IOVMax)
	}
	if n, err := f.WriteV(pieces[:1], 0); n != 1 || err != nil {
		t.Fatalf("WriteV of one piece = %d, %v", n, err)
	}
	if err := f.Datasync(); err != nil {
		t.Fatal(err)
	}
	if fsio.OSFile(f) == nil {
		t.Fatal("OSFile of an OS file is nil")
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Datasync(); !errors.Is(err, syscall.EBADF) && !errors.Is(err, os.ErrClosed) {
		t.Fatalf("Datasync after Close: %v", err)
	}
	b, err := os.ReadFile(path)
	if err != nil || len(b) != 10+fsio.IOVMax || !bytes.Equal(b[10:12], []byte{0, 1}) {
		t.Fatalf("file: %d bytes, %v", len(b), err)
	}
	if err := osfs.Rename(path, path+".2"); err != nil {
		t.Fatal(err)
	}
	if err := osfs.SyncDir(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := osfs.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Stat after rename: %v", err)
	}
	if err := osfs.SyncDir(path); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("SyncDir of a missing directory: %v", err)
	}
}
