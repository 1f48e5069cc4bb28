package main

import (
	"github.com/hasidecar/hasidecar/cmd/hasidecar/internal/loadgen"
	"github.com/hasidecar/hasidecar/cmd/hasidecar/internal/report"
	"github.com/hasidecar/hasidecar/plugins"
	"github.com/hasidecar/hasidecar/sidecar/sidecartest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

const e2eSegment = "1MiB"

// cluster is a writer, a master and a slave as real processes.
type cluster struct {
	t                           *testing.T
	dir, mdir, sdir, sock, addr string
	master, slave, writer       *proc
	masterArgs, slaveArgs       []string
}

func newCluster(t *testing.T) *cluster {
	dir := t.TempDir()
	return &cluster{t: t, dir: dir, mdir: filepath.Join(dir, "m", "commitlog"), sdir: filepath.Join(dir, "s", "commitlog"),
		sock: filepath.Join(dir, "ack.sock"), addr: freeAddr(t)}
}

func (c *cluster) startMaster(extra ...string) {
	args := append([]string{"master", "--dir", c.mdir, "--listen", c.addr, "--segment-size", e2eSegment,
		"--ack-socket", c.sock, "--heartbeat", "500ms", "--housekeeping", "5s"}, extra...)
	c.master = start(c.t, "master", args...)
	sidecartest.Eventually(c.t, 20*time.Second, "master ack socket", func() bool { return query(c.t, c.sock) != nil })
}

func (c *cluster) startSlave(extra ...string) {
	args := append([]string{"slave", "--dir", c.sdir, "--master", c.addr, "--segment-size", e2eSegment,
		"--max-backoff", "300ms", "--heartbeat", "500ms", "--housekeeping", "5s"}, extra...)
	c.slave = start(c.t, "slave", args...)
}

// startWriter appends 1 KiB records at rate per second for d.
func (c *cluster) startWriter(rate int, d time.Duration) {
	c.writer = start(c.t, "writer", "write", "--dir", c.mdir, "--segment-size", e2eSegment,
		"--rate", strconv.Itoa(rate), "--duration", d.String(), "--log-level", "warn")
}

// finish waits for the writer, then for the slave to acknowledge its end,
// and checks the directories are identical.
func (c *cluster) finish() int64 {
	c.t.Helper()
	end := c.finishKeepSlave()
	if err := c.slave.stop(); err != nil {
		c.t.Errorf("slave exit: %v", err)
	}
	c.verifyExact()
	return end
}

func (c *cluster) waitAcked(end int64) {
	c.t.Helper()
	sidecartest.Eventually(c.t, 60*time.Second, "slave to acknowledge the writer's end", func() bool {
		s := query(c.t, c.sock)
		return s != nil && s.MasterEnd == end && report.MaxAcked(s) == end
	})
}

func (c *cluster) verifyExact() {
	c.t.Helper()
	out, code := runBin(c.t, "verify", "--exact", "--segment-size", e2eSegment, c.mdir, c.sdir)
	if code != 0 {
		c.t.Fatalf("verify exit %d:\n%s", code, out)
	}
}

func segmentCount(t *testing.T, dir string) int {
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range ents {
		if _, ok := plugins.ParseOffsetName(e.Name()); ok {
			n++
		}
	}
	return n
}

func TestE2EReplicateLiveDirectory(t *testing.T) {
	c := newCluster(t)
	c.startMaster()
	c.startSlave()
	c.startWriter(3000, 2*time.Second)
	end := c.finish()
	if n := segmentCount(t, c.sdir); n < 3 || end < 3<<20 {
		t.Fatalf("want several segments rolled over, got %d segments, end %d", n, end)
	}
}

func TestE2ESlaveKilledAndRestarted(t *testing.T) {
	c := newCluster(t)
	c.startMaster()
	c.startSlave("--ack-after", "fsync", "--fsync", "every")
	c.startWriter(3000, 4*time.Second)
	for round := 0; round < 2; round++ {
		acked := int64(0)
		sidecartest.Eventually(t, 20*time.Second, "slave progress", func() bool {
			s := query(t, c.sock)
			if s == nil || len(s.Slaves) == 0 || report.MaxAcked(s) <= acked+(1<<20) {
				return false
			}
			acked = report.MaxAcked(s)
			return true
		})
		c.slave.kill()
		c.startSlave("--ack-after", "fsync", "--fsync", "every")
	}
	c.finish()
}

func TestE2EMasterRestarted(t *testing.T) {
	c := newCluster(t)
	c.startMaster()
	c.startSlave()
	c.startWriter(3000, 4*time.Second)
	sidecartest.Eventually(t, 20*time.Second, "slave past the first segment", func() bool {
		s := query(t, c.sock)
		return s != nil && report.MaxAcked(s) > 1<<20
	})
	c.master.kill()
	c.startMaster()
	c.finish()
}

func TestE2EInitialLastSegment(t *testing.T) {
	c := newCluster(t)
	out, code := runBin(t, "write", "--dir", c.mdir, "--segment-size", e2eSegment, "--count", "3000")
	if code != 0 {
		t.Fatalf("write: %s", out)
	}
	c.startMaster("--initial", "last-segment")
	c.startSlave()
	m := loadgen.EndPattern.FindStringSubmatch(out)
	end, _ := strconv.ParseInt(m[1], 10, 64)
	c.waitAcked(end)
	c.slave.stop()
	ents, _ := os.ReadDir(c.sdir)
	last := end - end%(1<<20)
	if len(ents) != 1 || ents[0].Name() != plugins.OffsetName(last) {
		t.Fatalf("slave holds %v, want only the last segment %d", names(ents), last)
	}
	a, _ := os.ReadFile(filepath.Join(c.mdir, plugins.OffsetName(last)))
	b, _ := os.ReadFile(filepath.Join(c.sdir, plugins.OffsetName(last)))
	if string(a) != string(b) {
		t.Fatalf("last segment differs")
	}
	// The default verify accepts a replica that starts later: older segments are only on the master.
	if out, code := runBin(t, "verify", "--segment-size", e2eSegment, c.mdir, c.sdir); code != 0 {
		t.Fatalf("verify: %d\n%s", code, out)
	}
}

func names(ents []os.DirEntry) []string {
	var s []string
	for _, e := range ents {
		s = append(s, e.Name())
	}
	return s
}

func TestE2EVerifyFindsCorruption(t *testing.T) {
	c := newCluster(t)
	c.startMaster()
	c.startSlave()
	c.startWriter(5000, time.Second)
	c.finish()
	p := filepath.Join(c.sdir, plugins.OffsetName(0))
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt([]byte{0xEE}, 5000)
	f.Close()
	out, code := runBin(t, "verify", "--segment-size", e2eSegment, c.mdir, c.sdir)
	if code != 2 || !strings.Contains(out, "bytes differ from offset 5000") {
		t.Fatalf("verify exit %d, output:\n%s", code, out)
	}
}

func TestE2EUsageErrors(t *testing.T) {
	for _, args := range [][]string{{"nosuch"}, {"master"}, {"slave", "--dir", "x"}, {"master", "--dir", "x", "--segment-size", "12parsecs"}} {
		if out, code := runBin(t, args...); code != 64 {
			t.Errorf("%v: exit %d, want 64:\n%s", args, code, out)
		}
	}
}
