package main

// End-to-end tests of synchronous commits (issue 3) with real processes:
// a master with --ack-socket, one or two slave processes, the built-in
// writer, and waiters that are the real `hasidecar wait` binary, the
// ackclient package, or a bare protocol client (to see the server's own
// answer at a deadline rather than the client's).

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/hasidecar/hasidecar/plugins"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hasidecar/hasidecar/cmd/hasidecar/internal/loadgen"
	"github.com/hasidecar/hasidecar/sidecar/ack"
	"github.com/hasidecar/hasidecar/sidecar/ackclient"
	"github.com/hasidecar/hasidecar/sidecar/sidecartest"
)

// syncMargin is how far past its timeout a wait may end: scheduling of
// three processes (built with -race under `go test -race`) on a busy host.
const syncMargin = 750 * time.Millisecond

// newSyncCluster is newCluster for short-lived children: a -race binary
// otherwise sleeps 1 s at exit (GORACE atexit_sleep_ms), and these tests
// run the writer and `hasidecar wait` many times.
func newSyncCluster(t *testing.T) *cluster {
	t.Setenv("GORACE", strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
	return newCluster(t)
}

// writeCount appends n records to the master's directory with the
// built-in writer (continuing what is there) and returns the new end.
func (c *cluster) writeCount(n int) int64 {
	c.t.Helper()
	defer logTook(c.t, "write "+strconv.Itoa(n)+" records", time.Now())
	out, code := runBin(c.t, "write", "--dir", c.mdir, "--segment-size", e2eSegment, "--count", strconv.Itoa(n), "--log-level", "warn")
	m := loadgen.EndPattern.FindStringSubmatch(out)
	if code != 0 || m == nil {
		c.t.Fatalf("write exit %d:\n%s", code, out)
	}
	end, _ := strconv.ParseInt(m[1], 10, 64)
	return end
}

// startSlaveIn starts one more slave process replicating into dir.
func (c *cluster) startSlaveIn(name, dir string, extra ...string) *proc {
	args := append([]string{"slave", "--dir", dir, "--master", c.addr, "--segment-size", e2eSegment,
		"--max-backoff", "300ms", "--heartbeat", "500ms", "--housekeeping", "5s"}, extra...)
	return start(c.t, name, args...)
}

// waitSlaves polls QUERY until exactly n slaves are connected.
func (c *cluster) waitSlaves(n int) *ack.Snapshot {
	c.t.Helper()
	defer logTook(c.t, strconv.Itoa(n)+" slave(s) connected", time.Now())
	var s *ack.Snapshot
	sidecartest.Eventually(c.t, 20*time.Second, strconv.Itoa(n)+" connected slave(s)", func() bool {
		s = query(c.t, c.sock)
		return s != nil && len(s.Slaves) == n
	})
	return s
}

// waitCmd runs `hasidecar wait` and returns its exit code, output and how
// long it ran.
func waitCmd(t *testing.T, sock string, off int64, timeout time.Duration) (int, string, time.Duration) {
	t.Helper()
	t0 := time.Now()
	defer logTook(t, "hasidecar wait", t0)
	out, code := runBin(t, "wait", "--socket", sock, "--offset", strconv.FormatInt(off, 10), "--timeout", timeout.String())
	return code, out, time.Since(t0)
}

// logTook logs how long a step took, to see where a slow run spends its time.
func logTook(t *testing.T, what string, t0 time.Time) {
	t.Helper()
	t.Logf("%s: %v", what, time.Since(t0).Round(time.Millisecond))
}

// rawWait sends one WAIT with the given timeout over a bare connection and
// reads the server's answer, so a TIMEOUT is the server's own and not a
// client-side deadline. It returns the answer and the wait's duration.
// With sent non-nil, a QUERY pipelined behind the WAIT is answered before
// sent is signalled: the server has taken the WAIT by then.
func rawWait(t *testing.T, sock string, off int64, timeout time.Duration, sent chan<- struct{}) (ack.Result, time.Duration, error) {
	c, err := net.DialTimeout("unix", sock, 2*time.Second)
	if err != nil {
		return ack.Result{}, 0, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(timeout + 10*time.Second)) // a hung server fails the test, not hangs it
	if _, err := c.Write(ack.AppendPreamble(nil, ack.Version, 0)); err != nil {
		return ack.Result{}, 0, err
	}
	var p [ack.PreambleLen]byte
	if _, err := io.ReadFull(c, p[:]); err != nil {
		return ack.Result{}, 0, err
	}
	t0 := time.Now()
	req := ack.AppendWait(nil, 9, off, timeout)
	if sent != nil {
		req = ack.AppendQuery(req, 10)
	}
	if _, err := c.Write(req); err != nil {
		return ack.Result{}, 0, err
	}
	for {
		body, err := ack.ReadFrame(c, nil, ack.MaxResponse)
		if err != nil {
			return ack.Result{}, time.Since(t0), err
		}
		resp, err := ack.DecodeResponse(body)
		switch {
		case err != nil || resp.Err != nil:
			return ack.Result{}, time.Since(t0), fmt.Errorf("answer %+v: %w", resp.Err, err)
		case resp.ID == 10:
			sent <- struct{}{}
		case resp.ID == 9:
			return resp.Result, time.Since(t0), nil
		}
	}
}

// sameBytes checks the slave's segment files hold the master's bytes
// [0, end). It reads the slave's files right after an OK: OK promises they
// are there (in the page cache at least, with --ack-after write).
func sameBytes(t *testing.T, mdir, sdir string, end int64) {
	t.Helper()
	const seg = 1 << 20
	for start := int64(0); start < end; start += seg {
		n := min(seg, end-start)
		a, err := os.ReadFile(filepath.Join(mdir, plugins.OffsetName(start)))
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(sdir, plugins.OffsetName(start)))
		if err != nil {
			t.Fatalf("slave segment at %d: %v", start, err)
		}
		if int64(len(b)) < n || !bytes.Equal(a[:n], b[:n]) {
			t.Fatalf("slave segment at %d differs from the master's below offset %d", start, end)
		}
	}
}

func TestE2ESyncWaitOKOnceSlaveHasBytes(t *testing.T) {
	c := newSyncCluster(t)
	c.startMaster()
	first := c.writeCount(10) // a master with no segment yet does not answer a slave's hello
	c.startSlave("--fsync", "none", "--ack-after", "write")
	c.waitSlaves(1)
	end := c.writeCount(2000) // ~2.2 MiB more: three segments
	if first >= end {
		t.Fatal("writer did not continue the directory")
	}
	code, out, _ := waitCmd(t, c.sock, end, 20*time.Second)
	if code != 0 || !strings.Contains(out, "OK offset="+strconv.FormatInt(end, 10)) {
		t.Fatalf("wait: exit %d, want 0:\n%s", code, out)
	}
	sameBytes(t, c.mdir, c.sdir, end)

	// Bytes that do not exist are never acknowledged: exit 2 at the timeout.
	code, out, took := waitCmd(t, c.sock, end+1, 300*time.Millisecond)
	if code != 2 || took > 300*time.Millisecond+syncMargin+time.Second { // + process start-up
		t.Fatalf("wait past the end: exit %d after %v, want 2:\n%s", code, took, out)
	}

	// The writer itself as a synchronous committer: each append waits.
	out, code = runBin(t, "write", "--dir", c.mdir, "--segment-size", e2eSegment, "--count", "300",
		"--ack-socket", c.sock, "--writers", "4", "--log-level", "warn")
	if code != 0 || !strings.Contains(out, "sync waits: 300 (OK=300)") {
		t.Fatalf("synchronous writer exit %d:\n%s", code, out)
	}
	end2, _ := strconv.ParseInt(loadgen.EndPattern.FindStringSubmatch(out)[1], 10, 64)
	sameBytes(t, c.mdir, c.sdir, end2)

	// Many waits pipelined on one ackclient connection for bytes not yet
	// written; a writer then writes them and every wait is answered OK.
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	cl, err := ackclient.Dial(ctx, c.sock)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var wg sync.WaitGroup
	for i := range 64 {
		off := end2 + int64(i+1)*1000
		wg.Go(func() {
			if res, err := cl.Wait(ctx, off); err != nil || res.Status != ack.OK || res.Acked < off {
				t.Errorf("pipelined wait for %d: %+v %v", off, res, err)
			}
		})
	}
	if end3 := c.writeCount(200); end3 < end2+64000 {
		t.Fatalf("writer end %d, want past %d", end3, end2+64000)
	}
	wg.Wait()
}

func TestE2ESyncSlaveKilled(t *testing.T) {
	for _, policy := range []string{"any", "all"} {
		t.Run(policy, func(t *testing.T) { testSlaveKilled(t, policy) })
	}
}

func testSlaveKilled(t *testing.T, policy string) {
	c := newSyncCluster(t)
	c.startMaster("--ack-policy", policy)
	c.writeCount(10) // a master with no segment yet does not answer a slave's hello
	c.startSlave()
	c.waitSlaves(1)
	end := c.writeCount(500)
	if res, _, err := rawWait(t, c.sock, end, 20*time.Second, nil); err != nil || res.Status != ack.OK {
		t.Fatalf("wait before the kill: %+v %v", res, err)
	}

	// Waits outstanding when the slave dies: for bytes not written yet, so
	// only a live slave and a writer could ever satisfy them.
	const timeout = 1500 * time.Millisecond
	type answer struct {
		res  ack.Result
		took time.Duration
		err  error
	}
	answers, sent := make(chan answer, 8), make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			res, took, err := rawWait(t, c.sock, end+int64(i+1)*100, timeout, sent)
			answers <- answer{res, took, err}
		})
	}
	for range 8 {
		select {
		case <-sent:
		case <-time.After(5 * time.Second):
			t.Fatal("the master did not take the waits")
		}
	}
	c.slave.kill()
	wg.Wait()
	close(answers)
	for a := range answers {
		if a.err != nil || a.res.Status != ack.Timeout {
			t.Errorf("outstanding wait at the kill: %+v %v, want TIMEOUT", a.res, a.err)
		}
		if a.took > timeout+syncMargin {
			t.Errorf("outstanding wait took %v, its timeout is %v", a.took, timeout)
		}
	}

	// New waits: NOT_AVAILABLE at once, with the reason, once the master
	// has seen the connection go.
	c.waitSlaves(0)
	res, took, err := rawWait(t, c.sock, end, 10*time.Second, nil)
	if err != nil || res.Status != ack.NotAvailable || !strings.Contains(res.Reason, "connected") || took > syncMargin {
		t.Fatalf("new wait without a slave: %+v %v after %v, want NOT_AVAILABLE at once", res, err, took)
	}
	code, out, _ := waitCmd(t, c.sock, end, 10*time.Second)
	if code != 3 || !strings.Contains(out, "NOT_AVAILABLE") {
		t.Fatalf("hasidecar wait without a slave: exit %d, want 3:\n%s", code, out)
	}

	// The slave returns; new data is replicated and acknowledged again.
	c.startSlave()
	c.waitSlaves(1)
	end2 := c.writeCount(500)
	if code, out, _ := waitCmd(t, c.sock, end2, 20*time.Second); code != 0 {
		t.Fatalf("wait after the slave returned: exit %d:\n%s", code, out)
	}
	sameBytes(t, c.mdir, c.sdir, end2)
}

func TestE2ESyncQuorumTwoSlaves(t *testing.T) {
	c := newSyncCluster(t)
	sdir2 := filepath.Join(c.dir, "s2", "commitlog")
	c.startMaster("--ack-policy", "quorum=2")
	c.writeCount(10) // a master with no segment yet does not answer a slave's hello
	c.startSlave()
	s2 := c.startSlaveIn("slave2", sdir2, "--ack-after", "fsync", "--fsync", "every")
	c.waitSlaves(2)
	end := c.writeCount(1000)
	if code, out, _ := waitCmd(t, c.sock, end, 20*time.Second); code != 0 {
		t.Fatalf("quorum=2 with both slaves: exit %d:\n%s", code, out)
	}
	sameBytes(t, c.mdir, c.sdir, end)
	sameBytes(t, c.mdir, sdir2, end)
	checkStatusTwoSlaves(t, c.sock, end)

	s2.kill()
	c.waitSlaves(1)
	res, took, err := rawWait(t, c.sock, end, 10*time.Second, nil)
	if err != nil || res.Status != ack.NotAvailable || !strings.Contains(res.Reason, "quorum=2") || took > syncMargin {
		t.Fatalf("quorum=2 with one slave: %+v %v after %v, want NOT_AVAILABLE at once", res, err, took)
	}

	c.startSlaveIn("slave2", sdir2, "--ack-after", "fsync", "--fsync", "every")
	c.waitSlaves(2)
	end2 := c.writeCount(500)
	if code, out, _ := waitCmd(t, c.sock, end2, 20*time.Second); code != 0 {
		t.Fatalf("quorum=2 with both slaves back: exit %d:\n%s", code, out)
	}
	sameBytes(t, c.mdir, sdir2, end2)
}

// checkStatusTwoSlaves runs `hasidecar status` (table and --json) once both
// slaves acknowledged end.
func checkStatusTwoSlaves(t *testing.T, sock string, end int64) {
	t.Helper()
	var snap *ack.Snapshot
	sidecartest.Eventually(t, 10*time.Second, "both slaves to acknowledge the end", func() bool {
		snap = query(t, sock)
		return snap != nil && len(snap.Slaves) == 2 && snap.Slaves[0].Acked == end && snap.Slaves[1].Acked == end
	})
	out, code := runBin(t, "status", "--socket", sock)
	if code != 0 {
		t.Fatalf("status exit %d:\n%s", code, out)
	}
	for _, want := range []string{"quorum=2", "slaves", snap.Slaves[0].ID, snap.Slaves[1].ID, strconv.FormatInt(end, 10)} {
		if !strings.Contains(out, want) {
			t.Errorf("status table lacks %q:\n%s", want, out)
		}
	}
	out, code = runBin(t, "status", "--socket", sock, "--json")
	var doc struct {
		MasterEnd int64  `json:"master_end"`
		Policy    string `json:"policy"`
		Committed int64  `json:"committed"`
		Slaves    []struct {
			ID    string `json:"id"`
			Acked int64  `json:"acked"`
			Lag   int64  `json:"lag"`
		} `json:"slaves"`
	}
	if err := json.Unmarshal([]byte(out), &doc); code != 0 || err != nil {
		t.Fatalf("status --json exit %d, %v:\n%s", code, err, out)
	}
	if doc.MasterEnd != end || doc.Policy != "quorum=2" || doc.Committed != end || len(doc.Slaves) != 2 ||
		doc.Slaves[0].Acked != end || doc.Slaves[1].Lag != 0 {
		t.Fatalf("status --json: %+v, want both slaves at %d", doc, end)
	}
}

// TestE2ESyncFallbehind stops the slave (SIGSTOP: connected but silent) and
// writes 5 MiB past it: new waits get NOT_AVAILABLE at once with the
// reason; once it runs again and catches up, OK.
func TestE2ESyncFallbehind(t *testing.T) {
	c := newSyncCluster(t)
	c.startMaster("--fallbehind-max", "1MiB", "--housekeeping", "60s")
	c.writeCount(10) // a master with no segment yet does not answer a slave's hello
	c.startSlave("--housekeeping", "60s")
	c.waitSlaves(1)
	end := c.writeCount(100)
	if code, out, _ := waitCmd(t, c.sock, end, 20*time.Second); code != 0 {
		t.Fatalf("wait in step: exit %d:\n%s", code, out)
	}
	if err := c.slave.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	cont := func() { c.slave.cmd.Process.Signal(syscall.SIGCONT) }
	defer cont()
	end2 := c.writeCount(4700) // ~5.2 MiB
	sidecartest.Eventually(t, 10*time.Second, "the master to see its new end", func() bool {
		s := query(t, c.sock)
		return s != nil && s.MasterEnd == end2
	})
	res, took, err := rawWait(t, c.sock, end2, 10*time.Second, nil)
	if err != nil || res.Status != ack.NotAvailable || !strings.Contains(res.Reason, "behind") || took > syncMargin {
		t.Fatalf("wait with the slave 5 MiB behind: %+v %v after %v, want NOT_AVAILABLE at once", res, err, took)
	}
	code, out, _ := waitCmd(t, c.sock, end2, 10*time.Second)
	if code != 3 || !strings.Contains(out, "fallbehind max 1048576") {
		t.Fatalf("hasidecar wait with the slave behind: exit %d, want 3 and the reason:\n%s", code, out)
	}
	cont()
	sidecartest.Eventually(t, 20*time.Second, "the slave to catch up", func() bool {
		s := query(t, c.sock)
		return s != nil && s.Committed == end2
	})
	if code, out, _ := waitCmd(t, c.sock, end2, 10*time.Second); code != 0 {
		t.Fatalf("wait after catching up: exit %d:\n%s", code, out)
	}
	sameBytes(t, c.mdir, c.sdir, end2)
}

// TestE2ESyncSocketFile: the mode, a second master refused while the first
// listens, removal on SIGTERM, and a SIGKILLed master's stale file
// replaced on restart.
func TestE2ESyncSocketFile(t *testing.T) {
	c := newSyncCluster(t)
	c.startMaster("--ack-socket-mode", "0600")
	fi, err := os.Lstat(c.sock)
	if err != nil || fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket file %v, %v: want a socket with mode 0600", fi.Mode(), err)
	}
	out, code := runBin(t, "master", "--dir", c.mdir, "--listen", freeAddr(t), "--segment-size", e2eSegment, "--ack-socket", c.sock)
	if code == 0 || !strings.Contains(out, "in use") {
		t.Fatalf("second master on a live socket: exit %d:\n%s", code, out)
	}
	if query(t, c.sock) == nil {
		t.Fatal("the first master stopped answering after a second one tried its socket")
	}
	if err := c.master.stop(); err != nil {
		t.Fatalf("master exit on SIGTERM: %v", err)
	}
	if _, err := os.Lstat(c.sock); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("socket file after SIGTERM: %v, want it removed", err)
	}
	if code, out, _ := waitCmd(t, c.sock, 0, time.Second); code != 1 {
		t.Fatalf("wait without a master: exit %d, want 1:\n%s", code, out)
	}

	c.startMaster()
	c.master.kill()
	if _, err := os.Lstat(c.sock); err != nil {
		t.Fatalf("a SIGKILLed master leaves its socket file: %v", err)
	}
	c.startMaster() // fails the test unless the stale file is replaced
	if fi, err := os.Lstat(c.sock); err != nil || fi.Mode().Perm() != 0o660 {
		t.Fatalf("replaced socket %v, %v: want mode 0660", fi.Mode(), err)
	}
	if !strings.Contains(c.master.out.String(), "stale") {
		t.Errorf("the restarted master did not log replacing the stale socket:\n%s", c.master.out.String())
	}
}
