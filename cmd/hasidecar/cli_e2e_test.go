package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hasidecar/hasidecar/sidecar/sidecartest"
)

// runSplit runs the binary to completion with stdout and stderr apart.
func runSplit(t *testing.T, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second) // every use ends in well under a second
	defer cancel()
	cmd := exec.CommandContext(ctx, binPath, args...)
	cmd.Env = append(os.Environ(), env...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return o.String(), e.String(), ee.ExitCode()
	}
	if err != nil {
		t.Fatalf("run %v: %v", args, err)
	}
	return o.String(), e.String(), 0
}

func TestE2EVersion(t *testing.T) {
	for _, args := range [][]string{{"--version"}, {"version"}} {
		out, _, code := runSplit(t, nil, args...)
		if code != 0 || !strings.HasPrefix(out, "hasidecar ") || !strings.Contains(out, "revision ") {
			t.Errorf("%v: exit %d, stdout %q; want the version and revision", args, code, out)
		}
	}
}

func TestE2EBareCommandIsUsage(t *testing.T) {
	out, errOut, code := runSplit(t, nil)
	if code != 64 || out != "" || !strings.Contains(errOut, "Usage:") {
		t.Fatalf("bare hasidecar: exit %d, stdout %q, stderr %q; want usage on stderr, exit 64", code, out, errOut)
	}
}

// TestE2EHelp: asked-for help goes to stdout with a synopsis and an example,
// for every command.
func TestE2EHelp(t *testing.T) {
	for _, cmd := range []string{"master", "slave", "write", "verify", "demo", "bench", "wait", "status", "config", "run", "version"} {
		for _, h := range []string{"-h", "--help"} {
			out, errOut, code := runSplit(t, nil, cmd, h)
			if code != 0 || !strings.Contains(out, "Usage:\n  hasidecar "+cmd) || !strings.Contains(out, "Example:\n  hasidecar "+cmd) || errOut != "" {
				t.Errorf("%s %s: exit %d, stdout %q, stderr %q", cmd, h, code, tail(out, 300), errOut)
			}
		}
	}
}

func TestE2EUnknownFlagIsOneLine(t *testing.T) {
	out, errOut, code := runSplit(t, nil, "master", "-x")
	want := "hasidecar master: flag provided but not defined: -x\nRun 'hasidecar master --help' for usage.\n"
	if code != 64 || out != "" || errOut != want {
		t.Fatalf("exit %d, stdout %q, stderr %q; want exit 64 and %q", code, out, errOut, want)
	}
}

// TestE2EMasterMissingDirWarns: a --dir that does not exist (a typo, or a
// broker not started yet) is said at start; the master keeps running.
func TestE2EMasterMissingDirWarns(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "typo", "commitlog")
	m := start(t, "master", "master", "--dir", dir, "--listen", freeAddr(t))
	sidecartest.Eventually(t, 10*time.Second, "the missing-directory warning", func() bool {
		return strings.Contains(m.out.String(), "WARN") && strings.Contains(m.out.String(), "does not exist")
	})
	sidecartest.Eventually(t, 10*time.Second, "the master serving", func() bool { return strings.Contains(m.out.String(), "master serving") })
	select {
	case <-m.done:
		t.Fatalf("master exited: %v", m.err)
	default:
	}
}

// TestE2ESlaveMasterAddress: host:port is checked at start; a master that
// cannot be reached is "cannot connect", never a "lost" connection.
func TestE2ESlaveMasterAddress(t *testing.T) {
	for _, addr := range []string{"127.0.0.1", "127.0.0.1:99999", "127.0.0.1:port", ":10912"} {
		_, out, code := runSplit(t, nil, "slave", "--dir", filepath.Join(t.TempDir(), "s"), "--master", addr)
		if code != 64 || !strings.Contains(out, "master") {
			t.Errorf("--master %q: exit %d, want 64; output %s", addr, code, out)
		}
	}
	s := start(t, "slave", "slave", "--dir", filepath.Join(t.TempDir(), "s"), "--master", "nosuchhost.invalid:10912", "--max-backoff", "200ms")
	sidecartest.Eventually(t, 20*time.Second, "a cannot-connect line", func() bool { return strings.Contains(s.out.String(), "cannot connect to master") })
	if strings.Contains(s.out.String(), "connection lost") {
		t.Fatalf("a slave that never connected logged a lost connection:\n%s", s.out.String())
	}
}
