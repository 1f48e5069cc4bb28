package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hasidecar/hasidecar/cmd/hasidecar/internal/loadgen"
	"github.com/hasidecar/hasidecar/cmd/hasidecar/internal/report"
	"github.com/hasidecar/hasidecar/cmd/hasidecar/internal/spawn"
	"github.com/hasidecar/hasidecar/sidecar/sidecartest"
)

// quickstartCommands are the README quickstart's hasidecar command lines
// (continuations joined), by subcommand.
func quickstartCommands(t *testing.T) map[string][]string {
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	start := strings.Index(text, "## Two-host quickstart")
	end := strings.Index(text[start+1:], "\n## ")
	if start < 0 || end < 0 {
		t.Fatal("README has no quickstart section")
	}
	out := map[string][]string{}
	joined := strings.ReplaceAll(text[start:start+1+end], "\\\n", " ")
	for _, line := range strings.Split(joined, "\n") {
		f := strings.Fields(strings.SplitN(line, "#", 2)[0])
		if len(f) > 1 && f[0] == "hasidecar" {
			out[f[1]] = f[2:]
		}
	}
	return out
}

// substitute replaces the README's host paths and addresses with the test's.
func substitute(args []string, repl map[string]string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		if r, ok := repl[a]; ok {
			a = r
		}
		out[i] = a
	}
	return out
}

var sizeInLog = regexp.MustCompile(`1048576|1MiB|1 MiB`)

// TestE2EQuickstartAsWritten follows the README quickstart with the
// built-in writer (1 MiB segments, given to it alone): the master takes
// the size from the files, the empty slave with no size takes the
// master's from the hello, and it replicates past the first segment. A
// master given a size the files contradict refuses to start.
func TestE2EQuickstartAsWritten(t *testing.T) {
	cmds := quickstartCommands(t)
	for _, c := range []string{"write", "master", "slave", "status"} {
		if cmds[c] == nil {
			t.Fatalf("README quickstart has no `hasidecar %s` line", c)
		}
	}
	root := t.TempDir()
	mdir, sdir, sock, addr := filepath.Join(root, "m", "commitlog"), filepath.Join(root, "s", "commitlog"), filepath.Join(root, "ack.sock"), freeAddr(t)
	_, port, _ := strings.Cut(addr, ":")
	master := map[string]string{"/data/store/commitlog": mdir, "0.0.0.0:10912": addr, "/run/hasidecar/ack.sock": sock}
	slave := map[string]string{"/data/store/commitlog": sdir, "broker-a:10912": "127.0.0.1:" + port, "/var/lib/hasidecar/broker-a": filepath.Join(root, "state")}

	wargs := append(substitute(cmds["write"], master), "--segment-size", "1MiB", "--count", "3000", "--rate", "0", "--log-level", "warn")
	out, code := runBin(t, append([]string{"write"}, wargs...)...)
	m := loadgen.EndPattern.FindStringSubmatch(out)
	if code != 0 || m == nil {
		t.Fatalf("writer exit %d:\n%s", code, out)
	}
	end, _ := strconv.ParseInt(m[1], 10, 64)
	if end <= 1<<20 {
		t.Fatalf("the writer ended at %d, inside the first segment", end)
	}
	if out, code := runBin(t, append([]string{"master"}, append(substitute(cmds["master"], master), "--segment-size", "2MiB")...)...); code != 78 ||
		!strings.Contains(out, "2MiB") || !sizeInLog.MatchString(out) {
		t.Fatalf("master with --segment-size 2MiB over 1 MiB files: exit %d, want 78 naming both sizes:\n%s", code, out)
	}
	start(t, "master", append([]string{"master"}, substitute(cmds["master"], master)...)...)
	if err := spawn.WaitSocket(t.Context(), sock, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	s := start(t, "slave", append([]string{"slave"}, substitute(cmds["slave"], slave)...)...)
	sidecartest.Eventually(t, 20*time.Second, "the slave to take the master's segment size", func() bool {
		return strings.Contains(s.out.String(), "took the master's segment size")
	})
	sidecartest.Eventually(t, 60*time.Second, "the slave to acknowledge the writer's end", func() bool {
		q := query(t, sock)
		return q != nil && q.MasterEnd == end && report.MaxAcked(q) == end
	})
	if out, code := runBin(t, append([]string{"status"}, substitute(cmds["status"], master)...)...); code != 0 || !strings.Contains(out, strconv.FormatInt(end, 10)) {
		t.Fatalf("status exit %d, want the end %d:\n%s", code, end, out)
	}
}
