package main

// End-to-end tests of what an OK may rest on, with real processes: a fake
// classic slave cannot satisfy a WAIT, and a rewritten live segment is
// never spliced onto a slave nor counted as acknowledged.

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hasidecar/hasidecar/plugins"
	"github.com/hasidecar/hasidecar/sidecar/ack"
	"github.com/hasidecar/hasidecar/sidecar/sidecartest"
)

// TestE2EFakeClassicSlaveCannotCommit: a peer connects, reports the
// master's end as a classic slave's first report and never reads a byte.
// `hasidecar wait` for that end must time out, not succeed.
func TestE2EFakeClassicSlaveCannotCommit(t *testing.T) {
	c := newSyncCluster(t)
	c.startMaster()
	end := c.writeCount(500)
	sidecartest.Eventually(t, 20*time.Second, "master end", func() bool { s := query(t, c.sock); return s != nil && s.MasterEnd == end })
	conn, err := net.Dial("tcp", c.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(end))
	if _, err := conn.Write(b[:]); err != nil {
		t.Fatal(err)
	}
	c.waitSlaves(1)
	if code, out, _ := waitCmd(t, c.sock, end, time.Second); code != 2 {
		t.Fatalf("wait for %d on a fake slave's word: exit %d, want 2 (timeout):\n%s", end, code, out)
	}
}

// TestE2ERewrittenLiveSegment: the master's live segment is replaced by a
// file with other bytes while a slave holds the old ones. The slave is cut
// and refused, keeps exactly the old bytes (no mixture), a WAIT over the
// rewritten range is not OK, and a fresh slave copies the new file exactly.
func TestE2ERewrittenLiveSegment(t *testing.T) {
	c := newSyncCluster(t)
	c.startMaster()
	c.startSlave()
	end := c.writeCount(800)
	c.waitAcked(end)
	name := plugins.OffsetName(0)
	oldBytes := readFile(t, filepath.Join(c.mdir, name))

	// Another writer's records (other timestamps) into a separate directory,
	// moved over the master's live segment.
	alt := filepath.Join(c.dir, "alt")
	if out, code := runBin(t, "write", "--dir", alt, "--segment-size", e2eSegment, "--count", "900", "--log-level", "warn"); code != 0 {
		t.Fatalf("alt write exit %d:\n%s", code, out)
	}
	newBytes := readFile(t, filepath.Join(alt, name))
	if err := os.Rename(filepath.Join(alt, name), filepath.Join(c.mdir, name)); err != nil {
		t.Fatal(err)
	}
	sidecartest.Eventually(t, 20*time.Second, "slave refused as diverged", func() bool {
		out := c.slave.out.String()
		return strings.Contains(out, "refused this slave") && strings.Contains(out, `"code": "diverged"`)
	})
	got := readFile(t, filepath.Join(c.sdir, name))
	if n := firstDifference(got, oldBytes); n < len(got) && !allZeroFrom(got, n) {
		t.Fatalf("slave segment differs from the old master bytes at %d (mixture)", n)
	}
	if code, out, _ := waitCmd(t, c.sock, end, 500*time.Millisecond); code == 0 {
		t.Fatalf("wait for %d over the rewritten range succeeded:\n%s", end, out)
	}

	fresh := filepath.Join(c.dir, "fresh", "commitlog")
	c.startSlaveIn("fresh", fresh)
	sidecartest.Eventually(t, 30*time.Second, "fresh slave holds the new file", func() bool {
		b, err := os.ReadFile(filepath.Join(fresh, name))
		return err == nil && bytes.Equal(b, newBytes)
	})
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func firstDifference(a, b []byte) int {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	return i
}

func allZeroFrom(b []byte, from int) bool {
	return len(bytes.Trim(b[from:], "\x00")) == 0
}

// TestE2EFirstReportIsLastOfFirstRead: a fork's classic slave sends a zero
// report and its real offset in one write. The real master binary, like
// RocketMQ's, serves from the real offset, not from 0.
func TestE2EFirstReportIsLastOfFirstRead(t *testing.T) {
	c := newSyncCluster(t)
	c.startMaster()
	mid := c.writeCount(300)
	end := c.writeCount(300)
	sidecartest.Eventually(t, 20*time.Second, "master end", func() bool { s := query(t, c.sock); return s != nil && s.MasterEnd == end })
	conn, err := net.Dial("tcp", c.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	b := binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64(nil, 0), uint64(mid))
	if _, err := conn.Write(b); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	var hdr [12]byte
	if _, err := io.ReadFull(conn, hdr[:]); err != nil {
		t.Fatalf("no first frame: %v", err)
	}
	if off := int64(binary.BigEndian.Uint64(hdr[:])); off != mid {
		t.Fatalf("first frame at %d, want the real offset %d", off, mid)
	}
}

// TestE2EWaitFloodMemoryBounded: four connections pipeline 70,000 WAITs
// each for an offset that never comes, with a slave connected so that they
// wait. The master holds its cap of outstanding waits, answers the excess
// with ERROR 4, stays up, and its memory grows by a bounded amount (an
// outstanding WAIT is a heap entry, not a goroutine).
func TestE2EWaitFloodMemoryBounded(t *testing.T) {
	const conns, perConn, maxWaits = 4, 70000, 65536
	c := newSyncCluster(t)
	c.startMaster()
	c.writeCount(10)
	c.startSlave()
	c.waitSlaves(1)
	before := rssBytes(t, c.master.cmd.Process.Pid)
	var errorsSeen atomic.Int64
	for i := range conns {
		cn, err := net.Dial("unix", c.sock)
		if err != nil {
			t.Fatal(err)
		}
		defer cn.Close()
		go countErrors(cn, &errorsSeen)
		buf := ack.AppendPreamble(nil, ack.Version, 0)
		for id := range perConn {
			buf = ack.AppendWait(buf, uint32(id+1), 1<<50, 30*time.Second)
		}
		if _, err := cn.Write(buf); err != nil {
			t.Fatalf("flood connection %d: %v", i, err)
		}
	}
	sidecartest.Eventually(t, 30*time.Second, "ERROR answers for every WAIT over the cap", func() bool {
		return errorsSeen.Load() >= conns*perConn-maxWaits
	})
	if c.master.exited() {
		t.Fatalf("master exited under the flood: %v", c.master.err)
	}
	peak := rssBytes(t, c.master.cmd.Process.Pid)
	t.Logf("master RSS %d MiB before, %d MiB with %d outstanding WAITs", before>>20, peak>>20, maxWaits)
	if grew := peak - before; grew > 200<<20 {
		t.Fatalf("master RSS grew by %d MiB under the WAIT flood", grew>>20)
	}
}

// countErrors reads the ack socket's answers on cn and counts ERRORs.
func countErrors(cn net.Conn, n *atomic.Int64) {
	pre := make([]byte, ack.PreambleLen)
	if _, err := io.ReadFull(cn, pre); err != nil {
		return
	}
	buf := make([]byte, 1<<16)
	for {
		f, err := ack.ReadFrame(cn, buf, 1<<16)
		if err != nil {
			return
		}
		if f[0] == 0xFF {
			n.Add(1)
		}
	}
}

// rssBytes is a process's resident set size, from /proc.
func rssBytes(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			var kb int64
			fmt.Sscanf(strings.TrimSpace(rest), "%d", &kb)
			return kb << 10
		}
	}
	t.Fatal("no VmRSS in /proc status")
	return 0
}
