package main

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"github.com/hasidecar/hasidecar/plugins"
	"maps"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/hasidecar/hasidecar/applier"
	"github.com/hasidecar/hasidecar/cmd/hasidecar/internal/report"
	"github.com/hasidecar/hasidecar/plugins/rocketmq"
	"github.com/hasidecar/hasidecar/sidecar/faultproxy"
	"github.com/hasidecar/hasidecar/sidecar/sidecartest"
)

const faultSeg = 1 << 20

// startProxy puts a fault proxy in front of the cluster's master.
func startProxy(t *testing.T, c *cluster) *faultproxy.Proxy {
	p, err := faultproxy.New(zaptest.NewLogger(t).Named("proxy"), c.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// validEnd is where the master directory's valid data ends, found with the
// layout's own scan of the newest segment (read-only: it never repairs).
func validEnd(t *testing.T, dir string) int64 {
	t.Helper()
	lay, err := rocketmq.New(rocketmq.Options{SegmentSize: faultSeg})
	if err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	newest := int64(-1)
	for _, e := range ents {
		if s, ok := lay.ParseName(e.Name()); ok && s > newest {
			newest = s
		}
	}
	if newest < 0 {
		return 0
	}
	sc, err := lay.Scan(filepath.Join(dir, lay.SegmentName(newest)), newest, newest)
	if err != nil {
		t.Fatal(err)
	}
	return sc.End
}

// waitAckedValid waits until the master's end and the slave's
// acknowledgement both reach the master directory's valid end.
func (c *cluster) waitAckedValid() int64 {
	c.t.Helper()
	var end int64
	sidecartest.Eventually(c.t, 60*time.Second, "slave to acknowledge the valid end", func() bool {
		end = validEnd(c.t, c.mdir)
		s := query(c.t, c.sock)
		return s != nil && end > 0 && s.MasterEnd == end && report.MaxAcked(s) == end
	})
	return end
}

// dirSums is a checksum of every file of dir, by name.
func dirSums(t *testing.T, dir string) map[string]string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		s := sha256.Sum256(b)
		m[e.Name()] = hex.EncodeToString(s[:])
	}
	return m
}

// waitCode runs `hasidecar wait` and returns its exit code (0 OK, 2
// timeout, 3 not available).
func waitCode(t *testing.T, sock string, off int64, timeout time.Duration) int {
	t.Helper()
	out, code := runBin(t, "wait", "--socket", sock, "--offset", strconv.FormatInt(off, 10), "--timeout", timeout.String())
	t.Logf("wait --offset %d: exit %d: %s", off, code, strings.TrimSpace(out))
	return code
}

// TestFaultProxyNetwork runs the replication through delays, a stall, cuts
// in the middle of frames and reports, a throttle and cut-all, while the
// writer appends; the directories end identical.
func TestFaultProxyNetwork(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	c.startMaster()
	px := startProxy(t, c)
	c.startSlave("--master", px.Addr())
	c.startWriter(2000, 7*time.Second)
	progress := func(what string) {
		var from int64
		if s := query(t, c.sock); s != nil {
			from = report.MaxAcked(s)
		}
		sidecartest.Eventually(t, 30*time.Second, "slave progress after "+what, func() bool {
			s := query(t, c.sock)
			return s != nil && report.MaxAcked(s) > from
		})
	}
	progress("start")
	px.SetDelay(20 * time.Millisecond)
	progress("delay")
	px.SetDelay(0)
	px.Stall()
	waitStallNoProgress(t, c)
	px.Resume()
	progress("stall")
	for i, n := range []int64{5, 12, 12345, 40000, 100003} { // inside a header, at its end, inside bodies
		before := px.Stats().Cuts
		px.CutAfter(faultproxy.Down, n)
		sidecartest.Eventually(t, 30*time.Second, "cut after "+strconv.FormatInt(n, 10), func() bool { return px.Stats().Cuts > before })
		progress("cut " + strconv.Itoa(i))
	}
	px.CutAfter(faultproxy.Up, 4) // half an acknowledgement
	progress("cut in a report")
	px.Throttle(256 << 10)
	progress("throttle")
	px.Throttle(0)
	px.CutAll()
	progress("cut all")
	c.finish()
	st := px.Stats()
	t.Logf("proxy: %+v", st)
	if st.Cuts < 6 {
		t.Fatalf("only %d cuts happened", st.Cuts)
	}
}

// waitStallNoProgress checks that a stalled slave's acknowledgement does
// not move while the master's end does.
func waitStallNoProgress(t *testing.T, c *cluster) {
	t.Helper()
	s := query(t, c.sock)
	if s == nil {
		t.Fatal("master does not answer")
	}
	acked, end := report.MaxAcked(s), s.MasterEnd
	sidecartest.Eventually(t, 20*time.Second, "the master's end to move during the stall", func() bool {
		s := query(t, c.sock)
		return s != nil && s.MasterEnd > end+64<<10
	})
	if s := query(t, c.sock); s == nil || report.MaxAcked(s) > acked+(64<<10) { // bytes already in flight may land
		t.Fatalf("acknowledgements moved during a stall: %d -> %+v", acked, s)
	}
}

// TestFaultSyncCommitNeedsSlave: while the proxy stalls the slave, a
// synchronous commit of new data times out; once it resumes, it is OK.
func TestFaultSyncCommitNeedsSlave(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	c.startMaster()
	px := startProxy(t, c)
	c.startSlave("--master", px.Addr(), "--ack-after", "fsync", "--fsync", "every")
	if out, code := runBin(t, "write", "--dir", c.mdir, "--segment-size", e2eSegment, "--count", "300"); code != 0 {
		t.Fatalf("write: %s", out)
	}
	old := c.waitAckedValid()
	px.Stall()
	if out, code := runBin(t, "write", "--dir", c.mdir, "--segment-size", e2eSegment, "--count", "50"); code != 0 {
		t.Fatalf("write: %s", out)
	}
	end := validEnd(t, c.mdir)
	if code := waitCode(t, c.sock, old, time.Second); code != 0 {
		t.Fatalf("wait for an offset the slave holds: exit %d, want 0", code)
	}
	for range 3 {
		// TIMEOUT while the stalled connection lives; NOT_AVAILABLE once
		// housekeeping closed it (a slow -race run). Never OK.
		if code := waitCode(t, c.sock, end, time.Second); code != 2 && code != 3 {
			t.Fatalf("wait for an offset the stalled slave lacks: exit %d, want 2 (timeout) or 3", code)
		}
	}
	if s := query(t, c.sock); s == nil || report.MaxAcked(s) > old {
		t.Fatalf("acknowledged beyond what the stalled slave holds: %+v", s)
	}
	px.Resume()
	if code := waitCode(t, c.sock, end, 20*time.Second); code != 0 {
		t.Fatalf("wait after resume: exit %d, want 0", code)
	}
}

// TestFaultKillMasterAndSlave SIGKILLs the master or the slave at random
// points while the writer appends, several rounds, then checks identity.
func TestFaultKillMasterAndSlave(t *testing.T) {
	t.Parallel()
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	c := newCluster(t)
	c.startMaster()
	slaveArgs := []string{"--ack-after", "fsync", "--fsync", "every"}
	c.startSlave(slaveArgs...)
	c.startWriter(3000, 10*time.Second)
	victims := []string{"master", "master", "master", "slave", "slave", "slave"}
	rng.Shuffle(len(victims), func(i, j int) { victims[i], victims[j] = victims[j], victims[i] })
	for round, victim := range victims {
		var from int64
		if s := query(t, c.sock); s != nil {
			from = report.MaxAcked(s)
		}
		// Some progress first, then a random extra moment inside the stream.
		sidecartest.Eventually(t, 30*time.Second, "progress before round "+strconv.Itoa(round), func() bool {
			s := query(t, c.sock)
			return s != nil && report.MaxAcked(s) > from
		})
		deadline := time.Now().Add(time.Duration(rng.IntN(400)) * time.Millisecond)
		sidecartest.Eventually(t, time.Second, "random moment", func() bool { return time.Now().After(deadline) })
		if victim == "master" {
			t.Logf("round %d: SIGKILL master", round)
			c.master.kill()
			c.startMaster()
		} else {
			t.Logf("round %d: SIGKILL slave", round)
			c.slave.kill()
			c.startSlave(slaveArgs...)
		}
	}
	c.finish()
}

// TestFaultWriterKilledTornTail: the writer dies by SIGKILL and a torn
// record sits at the master's end (the dead writer's half-copied last
// message). The master never ships it, a WAIT covering it times out, the
// slave's bytes there stay zero; a restarted writer overwrites it and the
// directories end identical.
func TestFaultWriterKilledTornTail(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	c.startMaster()
	c.startSlave()
	c.startWriter(3000, time.Minute)
	sidecartest.Eventually(t, 30*time.Second, "writer past the first segment", func() bool {
		s := query(t, c.sock)
		return s != nil && report.MaxAcked(s) > faultSeg+faultSeg/3
	})
	c.writer.kill()
	end := c.waitAckedValid()
	torn := tearTail(t, c.mdir, end)
	if code := waitCode(t, c.sock, end+int64(len(torn)), time.Second); code != 2 {
		t.Fatalf("wait covering torn bytes: exit %d, want 2 (timeout)", code)
	}
	if s := query(t, c.sock); s == nil || s.MasterEnd != end || report.MaxAcked(s) != end {
		t.Fatalf("torn bytes moved the master's end or the ack: %+v (valid end %d)", s, end)
	}
	checkZero(t, c.sdir, end, len(torn))
	c.startWriter(3000, 2*time.Second)
	c.finish()
}

// tearTail writes the first half of a valid-looking record at end, as a
// writer killed in the middle of copying it leaves.
func tearTail(t *testing.T, dir string, end int64) []byte {
	t.Helper()
	rec := rocketmq.AppendRecord(nil, &rocketmq.Message{Topic: "hasidecar-demo", Body: make([]byte, 1024)}, end)
	start := end - end%faultSeg
	torn := rec[:min(len(rec)/2, int(start+faultSeg-end))]
	f, err := os.OpenFile(filepath.Join(dir, plugins.OffsetName(start)), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(torn, end-start); err != nil {
		t.Fatal(err)
	}
	return torn
}

// checkZero fails unless the slave's bytes [off, off+n) are zero (or the
// file is absent): the slave never received them.
func checkZero(t *testing.T, dir string, off int64, n int) {
	t.Helper()
	start := off - off%faultSeg
	b, err := os.ReadFile(filepath.Join(dir, plugins.OffsetName(start)))
	if os.IsNotExist(err) {
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	for i := off - start; i < min(int64(len(b)), off-start+int64(n)); i++ {
		if b[i] != 0 {
			t.Fatalf("slave holds a non-zero byte at %d, inside the torn record", start+i)
		}
	}
}

// TestFaultRetentionNeedsReseed: a SIGSTOPped slave falls behind a writer
// whose retention deletes the segments it needs. When it continues, the
// master refuses it with a reseed reason; the slave logs it, writes nothing
// more and leaves no gap. Moving its directory aside brings it back.
func TestFaultRetentionNeedsReseed(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	c.startMaster()
	c.startSlave()
	if out, code := runBin(t, "write", "--dir", c.mdir, "--segment-size", e2eSegment, "--count", "500", "--retain", "2"); code != 0 {
		t.Fatalf("write: %s", out)
	}
	c.waitAckedValid()
	c.slave.cmd.Process.Signal(syscall.SIGSTOP)
	// Far more than loopback socket buffers hold (they can absorb ~10 MB),
	// so the stopped slave cannot have its next offset in flight.
	if out, code := runBin(t, "write", "--dir", c.mdir, "--segment-size", e2eSegment, "--count", "30000", "--retain", "2"); code != 0 {
		t.Fatalf("write: %s", out)
	}
	sidecartest.Eventually(t, 30*time.Second, "the master to drop the stopped slave", func() bool {
		return strings.Contains(c.master.out.String(), "slave connection closed")
	})
	c.slave.cmd.Process.Signal(syscall.SIGCONT)
	sidecartest.Eventually(t, 30*time.Second, "the slave to log that it needs a reseed", func() bool {
		return strings.Count(c.slave.out.String(), "needs a reseed") >= 1
	})
	before := dirSums(t, c.sdir)
	n := strings.Count(c.slave.out.String(), "needs a reseed")
	sidecartest.Eventually(t, 30*time.Second, "a second refusal", func() bool {
		return strings.Count(c.slave.out.String(), "needs a reseed") > n
	})
	if after := dirSums(t, c.sdir); !maps.Equal(before, after) {
		t.Fatalf("a slave refused for a reseed changed its directory")
	}
	checkContiguous(t, c.sdir)
	if err := c.slave.stop(); err != nil {
		t.Logf("slave exit: %v", err)
	}
	aside, err := applier.MoveAside(c.sdir, c.sdir+".hasidecar", "needs-reseed")
	if err != nil {
		t.Fatalf("MoveAside: %v", err)
	}
	if kept := dirSums(t, aside); len(kept) < len(before) {
		t.Fatalf("aside holds %d files, the slave had %d", len(kept), len(before))
	}
	c.startSlave()
	c.waitAckedValid()
	if out, code := runBin(t, "verify", "--segment-size", e2eSegment, c.mdir, c.sdir); code != 0 {
		t.Fatalf("verify after the reseed: exit %d\n%s", code, out)
	}
}

// checkContiguous fails if the slave's segments have a hole between them.
func checkContiguous(t *testing.T, dir string) {
	t.Helper()
	var starts []int64
	for _, e := range mustReadDir(t, dir) {
		if s, err := strconv.ParseInt(e.Name(), 10, 64); err == nil && len(e.Name()) == 20 {
			starts = append(starts, s)
		}
	}
	for i := 1; i < len(starts); i++ {
		if starts[i] != starts[i-1]+faultSeg {
			t.Fatalf("slave segments have a gap: %v", starts)
		}
	}
}

func mustReadDir(t *testing.T, dir string) []os.DirEntry {
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	return ents
}

// TestFaultDivergedOrAhead: a slave whose bytes differ from a master's at
// the same offsets, or that holds more than the master, is refused with a
// clear error and its directory is left exactly as it was.
func TestFaultDivergedOrAhead(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	c.startMaster()
	c.startSlave()
	if out, code := runBin(t, "write", "--dir", c.mdir, "--segment-size", e2eSegment, "--count", "2000"); code != 0 {
		t.Fatalf("write: %s", out)
	}
	c.waitAckedValid()
	if err := c.slave.stop(); err != nil {
		t.Fatalf("slave exit: %v", err)
	}
	c.master.kill()
	for _, tc := range []struct {
		name  string
		count string
		want  string
	}{
		{"diverged", "3000", "diverged"}, // other random bodies at the same offsets
		{"ahead", "300", "beyond the master's end"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			other := newCluster(t)
			if out, code := runBin(t, "write", "--dir", other.mdir, "--segment-size", e2eSegment, "--count", tc.count); code != 0 {
				t.Fatalf("write: %s", out)
			}
			other.startMaster("--report-grace", "300ms")
			before := dirSums(t, c.sdir)
			s := start(t, "slave-"+tc.name, "slave", "--dir", c.sdir, "--master", other.addr, "--segment-size", e2eSegment,
				"--max-backoff", "300ms", "--exit-on-refusal")
			err := s.wait(30 * time.Second)
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 78 {
				t.Fatalf("refused slave exit: %v, want status 78\n%s", err, s.out.String())
			}
			if out := s.out.String(); !strings.Contains(out, tc.want) {
				t.Fatalf("slave log lacks %q:\n%s", tc.want, out)
			}
			if after := dirSums(t, c.sdir); !maps.Equal(before, after) {
				t.Fatal("a refused slave's directory changed")
			}
		})
	}
}

// TestFaultSlaveDiskFull: the slave's directory is on a 3 MiB tmpfs while
// the master holds more. The slave stops acknowledging, logs the write
// error, and resumes once the filesystem grows.
func TestFaultSlaveDiskFull(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	mnt := filepath.Join(c.dir, "small")
	if err := os.MkdirAll(mnt, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", mnt).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a small tmpfs here (needs root): %v %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", "-l", mnt).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v %s", mnt, err, out)
		}
	})
	c.sdir = filepath.Join(mnt, "commitlog")
	c.startMaster()
	if out, code := runBin(t, "write", "--dir", c.mdir, "--segment-size", e2eSegment, "--count", "5000"); code != 0 {
		t.Fatalf("write: %s", out)
	}
	end := validEnd(t, c.mdir)
	c.startSlave("--ack-after", "fsync", "--fsync", "every")
	sidecartest.Eventually(t, 30*time.Second, "the slave to log the write error", func() bool {
		return strings.Contains(c.slave.out.String(), "no space left")
	})
	s := query(t, c.sock)
	var stuck int64
	if s != nil {
		stuck = report.MaxAcked(s)
	}
	n := strings.Count(c.slave.out.String(), "no space left")
	sidecartest.Eventually(t, 30*time.Second, "another failed attempt", func() bool {
		return strings.Count(c.slave.out.String(), "no space left") > n
	})
	// A retry may fit a little more (the state directory shares the small
	// file system, and what a failed attempt left is freed at recovery):
	// an acknowledgement may grow by what was really fsynced, which
	// verifyExact below checks, but a full slave never reaches the end.
	if s := query(t, c.sock); s != nil && report.MaxAcked(s) >= end {
		t.Fatalf("a full slave acknowledged everything: %d -> %d (end %d)", stuck, report.MaxAcked(s), end)
	}
	if out, err := exec.Command("mount", "-o", "remount,size=64m", mnt).CombinedOutput(); err != nil {
		t.Fatalf("grow tmpfs: %v %s", err, out)
	}
	c.waitAcked(end)
	if err := c.slave.stop(); err != nil {
		t.Errorf("slave exit: %v", err)
	}
	c.verifyExact()
}
