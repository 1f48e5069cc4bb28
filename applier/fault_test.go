package applier

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"
)

// The write-error test needs a real fault. RLIMIT_FSIZE is one that works
// as root and without mounts: the kernel refuses to write or ftruncate a
// regular file past the limit with EFBIG (Go ignores the SIGXFSZ that comes
// with it). The limit is process-wide, so the faulty part runs in a child
// copy of this test binary.
const childEnv = "APPLIER_FSIZE_CHILD"

func TestWriteErrorFileSizeLimit(t *testing.T) {
	for _, l := range layouts(seg) {
		t.Run(l.Info().Name, func(t *testing.T) {
			root := t.TempDir()
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestFileSizeLimitChild$", "-test.v")
			cmd.Env = append(os.Environ(), childEnv+"="+root, "APPLIER_PREALLOC="+boolEnv(l.Info().Preallocated))
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("child: %v\n%s", err, out)
			}
			src := filepath.Join(root, "src")
			if err := os.Mkdir(src, 0o755); err != nil {
				t.Fatal(err)
			}
			writeSource(t, l, src, 0, 3*seg)
			sameDir(t, src, filepath.Join(root, "dst"))
		})
	}
}

func boolEnv(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// TestFileSizeLimitChild runs only inside the child process.
func TestFileSizeLimitChild(t *testing.T) {
	root := os.Getenv(childEnv)
	if root == "" {
		t.Skip("runs as the child of TestWriteErrorFileSizeLimit")
	}
	l := newTestLayout(seg, os.Getenv("APPLIER_PREALLOC") == "1")
	dst, state := filepath.Join(root, "dst"), filepath.Join(root, "state")
	a, err := Open(zaptest.NewLogger(t), dst, state, l, Options{Sync: SyncEvery})
	if err != nil {
		t.Fatal(err)
	}
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
		t.Fatal(err)
	}
	// Preallocated: segment 1's ftruncate to full size fails. Growing: a
	// write into segment 0 stops at the limit halfway through a chunk.
	limit, failAt := uint64(seg-1), int64(seg)
	if !l.info.Preallocated {
		limit, failAt = seg/2+100, seg/2
	}
	stream(t, a, 0, failAt, 4000)
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &syscall.Rlimit{Cur: limit, Max: old.Max}); err != nil {
		t.Fatal(err)
	}
	err = a.Apply(failAt, payload(failAt, failAt+1000))
	var ie *IOError
	if !errors.Is(err, syscall.EFBIG) || !errors.As(err, &ie) || ie.Offset != failAt || ie.Path == "" {
		t.Fatalf("Apply past the limit: %v", err)
	}
	t.Logf("injected: %v", err)
	if a.End() != failAt || a.Synced() != failAt {
		t.Fatalf("end %d synced %d after the failure, want %d", a.End(), a.Synced(), failAt)
	}
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
		t.Fatal(err)
	}
	stream(t, a, failAt, 3*seg, 4000)
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
}
