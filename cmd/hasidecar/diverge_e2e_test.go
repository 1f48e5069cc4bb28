package main

// End-to-end tests of what an OK may rest on, with real processes: a fake
// classic slave cannot satisfy a WAIT, and a rewritten live segment is
// never spliced onto a slave nor counted as acknowledged.

import (
	"bytes"
	"encoding/binary"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hasidecar/hasidecar/plugins"
)

// TestE2EFakeClassicSlaveCannotCommit: a peer connects, reports the
// master's end as a classic slave's first report and never reads a byte.
// `hasidecar wait` for that end must time out, not succeed.
func TestE2EFakeClassicSlaveCannotCommit(t *testing.T) {
	c := newSyncCluster(t)
	c.startMaster()
	end := c.writeCount(500)
	eventually(t, 20*time.Second, "master end", func() bool { s := query(t, c.sock); return s != nil && s.MasterEnd == end })
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
	eventually(t, 20*time.Second, "slave refused as diverged", func() bool {
		out := c.slave.out.String()
		return strings.Contains(out, "refused") && strings.Contains(out, "rewritten")
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
	eventually(t, 30*time.Second, "fresh slave holds the new file", func() bool {
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
