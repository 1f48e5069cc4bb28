package applier

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"
)

// killChildEnv makes this test binary the applier that TestJournalSIGKILL
// kills: the variable holds the root of the directories to write.
const killChildEnv = "APPLIER_KILL_CHILD"

// TestJournalSIGKILL: a child process applies chunks past its last sync,
// says how far it got and is SIGKILLed without a chance to close anything;
// the reopened replica ends exactly there, and continues to an exact copy.
func TestJournalSIGKILL(t *testing.T) {
	for _, l := range layouts(seg) {
		t.Run(l.Info().Name, func(t *testing.T) {
			root := t.TempDir()
			applied := runKilledChild(t, root, l.Info().Preallocated)
			if want := int64(3*seg + 4321); applied != want {
				t.Fatalf("child applied to %d, want %d", applied, want)
			}
			dst, state := filepath.Join(root, "dst"), filepath.Join(root, "state")
			a := openT(t, dst, state, l, Options{Sync: SyncNone})
			if a.End() != applied || a.Synced() != applied {
				a.crash()
				t.Fatalf("recovered end %d synced %d after SIGKILL, want %d", a.End(), a.Synced(), applied)
			}
			end := int64(5 * seg)
			stream(t, a, applied, end, 5000)
			if err := a.Close(); err != nil {
				t.Fatal(err)
			}
			src := filepath.Join(root, "src")
			if err := os.Mkdir(src, 0o755); err != nil {
				t.Fatal(err)
			}
			writeSource(t, l, src, 0, end)
			sameDir(t, src, dst)
		})
	}
}

// runKilledChild starts the child, reads the end it applied to from its
// stdout, SIGKILLs it and waits for it.
func runKilledChild(t *testing.T, root string, prealloc bool) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestJournalKillChild$")
	cmd.Env = append(os.Environ(), killChildEnv+"="+root, "APPLIER_PREALLOC="+boolEnv(prealloc))
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stdin, err := cmd.StdinPipe() // the child blocks on it until killed
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	applied, seen := int64(-1), []string{}
	for sc := bufio.NewScanner(out); sc.Scan(); {
		line := sc.Text()
		seen = append(seen, line)
		if v, ok := strings.CutPrefix(line, "APPLIED "); ok {
			applied, _ = strconv.ParseInt(v, 10, 64)
			break
		}
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("child did not die of SIGKILL: %v\n%s", err, strings.Join(seen, "\n"))
	}
	if applied < 0 {
		t.Fatalf("child never reported its end:\n%s", strings.Join(seen, "\n"))
	}
	return applied
}

// TestJournalKillChild runs only inside the child process.
func TestJournalKillChild(t *testing.T) {
	root := os.Getenv(killChildEnv)
	if root == "" {
		t.Skip("runs as the child of TestJournalSIGKILL")
	}
	l := newTestLayout(seg, os.Getenv("APPLIER_PREALLOC") == "1")
	a, err := Open(zaptest.NewLogger(t), filepath.Join(root, "dst"), filepath.Join(root, "state"), l, Options{Sync: SyncNone})
	if err != nil {
		t.Fatal(err)
	}
	stream(t, a, 0, seg+100, 4096)
	if err := a.Sync(); err != nil {
		t.Fatal(err)
	}
	stream(t, a, seg+100, 3*seg+4321, 3000)
	fmt.Printf("APPLIED %d\n", a.End())
	_, _ = os.Stdin.Read(make([]byte, 1)) // until the parent kills this process
	t.Fatal("stdin closed before the kill")
}
