package plugins

import (
	"os"
	"path/filepath"
	"runtime/debug"
	"testing"

	"github.com/edsrzf/mmap-go"
)

// TestCatchFault maps a file, truncates it under the map and reads: the
// SIGBUS comes back as a fault, and the goroutine's fault setting is restored.
func TestCatchFault(t *testing.T) {
	path := filepath.Join(t.TempDir(), "seg")
	if err := os.WriteFile(path, make([]byte, 1<<16), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := mmap.Map(f, mmap.RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Unmap()
	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
	old := debug.SetPanicOnFault(false)
	defer debug.SetPanicOnFault(old)
	var sum byte
	if _, faulted := CatchFault(func() { sum += m[4096] }); !faulted {
		t.Fatal("read past the truncated end did not fault")
	}
	if debug.SetPanicOnFault(false) {
		t.Fatal("SetPanicOnFault not restored")
	}
	if _, faulted := CatchFault(func() {}); faulted {
		t.Fatal("no read, yet a fault")
	}
}
