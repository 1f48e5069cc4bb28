package sidecar

import (
	"errors"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hasidecar/hasidecar/sidecar/haproto"
	"github.com/hasidecar/hasidecar/sidecar/lineage"
)

// lineageFixture is a master over ~11 MiB of records in 4 MiB segments
// (two sealed, one live), its lineage fully hashed.
func lineageFixture(t *testing.T) (*testMaster, []byte, int64) {
	t.Helper()
	d := t.TempDir()
	dir := filepath.Join(d, "master")
	end := writeRecords(t, dir, lineageSeg, 45, 256<<10)
	// A slave beyond the master's end waits ReportGrace for the end to
	// reach it before it is refused.
	tm, _ := startLineageMaster(t, dir, filepath.Join(d, "state", "lineage"), MasterConfig{ReportGrace: 200 * time.Millisecond}, testLogger(t))
	waitHashed(t, tm, end)
	return tm, dirBytes(t, dir, testLayout(t, lineageSeg), end), end
}

func TestLineageNamesTheFirstDifferingBlock(t *testing.T) {
	tm, data, end := lineageFixture(t)
	lay := testLayout(t, lineageSeg)
	// One byte flipped in block 2 of segment 1, far below the slave's end:
	// the tail digest cannot see it.
	flip := int64(lineageSeg + 2*lineage.BlockSize + 12345)
	if flip >= end-lineage.BlockSize {
		t.Fatalf("fixture too small: end %d", end)
	}
	data[flip] ^= 0x40
	rep, asked := lineageSession(t, tm.addr, lay, data)
	if rep.Code != haproto.CodeDiverged || rep.Retry {
		t.Fatalf("reply %+v, want a permanent diverged refusal", rep)
	}
	if asked != lineageSeg {
		t.Errorf("master asked the block CRCs of segment %d, want %d", asked, lineageSeg)
	}
	want := int64(lineageSeg + 2*lineage.BlockSize)
	if rep.Common == nil || *rep.Common != want {
		t.Fatalf("common %v, want %d (the differing block's start); reply %q", rep.Common, want, rep.Error)
	}
	if !strings.Contains(rep.Error, "block [") {
		t.Errorf("refusal %q does not name the block", rep.Error)
	}
	if got := tm.m.Stats().Refused; got == 0 {
		t.Error("refusal not counted")
	}
}

func TestLineageMatchingSlaveIsAccepted(t *testing.T) {
	tm, data, _ := lineageFixture(t)
	rep, asked := lineageSession(t, tm.addr, testLayout(t, lineageSeg), data)
	if rep.Error != "" || rep.Common != nil || asked != -1 {
		t.Fatalf("reply %+v (asked %d), want acceptance without a LineageOf round", rep, asked)
	}
	if rep.LineageSkipped != 0 {
		t.Errorf("skipped %d segments, want 0", rep.LineageSkipped)
	}
}

func TestLineagePartialTailDiffers(t *testing.T) {
	tm, data, end := lineageFixture(t)
	if end%lineage.BlockSize == 0 {
		t.Skip("fixture ends at a block start")
	}
	data[end-1] ^= 1
	rep, asked := lineageSession(t, tm.addr, testLayout(t, lineageSeg), data)
	want := end - end%lineage.BlockSize
	if rep.Code != haproto.CodeDiverged || rep.Common == nil || *rep.Common != want || asked != -1 {
		t.Fatalf("reply %+v common %v asked %d, want diverged at the tail block %d without a LineageOf round", rep, rep.Common, asked, want)
	}
}

// An old master rejoining as a slave: the master's bytes, then 3 MiB the
// master never had. Everything up to the last block the master holds
// whole compares equal.
func TestLineageSlaveBeyondTheMastersEnd(t *testing.T) {
	tm, data, end := lineageFixture(t)
	extra := make([]byte, 3<<20)
	for i := range extra {
		extra[i] = byte(i * 7)
	}
	data = append(data, extra...)
	rep, _ := lineageSession(t, tm.addr, testLayout(t, lineageSeg), data)
	want := end - (end%lineageSeg)%lineage.BlockSize
	if rep.Code != haproto.CodeDiverged || rep.Common == nil || *rep.Common != want {
		t.Fatalf("reply %+v common %v, want diverged with common %d (master end %d)", rep, rep.Common, want, end)
	}
}

// A slave's block CRCs that do not add up to the rollup of its entry are
// refused for good, not taken as a divergence point.
func TestLineageInconsistentBlockCRCsRefused(t *testing.T) {
	tm, _, end := lineageFixture(t)
	lay := testLayout(t, lineageSeg)
	cmp := newLineageCmp(tm.m.feed.store, lay.Info(), 0, end, end, haproto.Hello{})
	_, err := cmp.blocks(haproto.SegLineage{Base: 0, Blocks: 2, Rollup: 1}, []uint32{1, 2})
	if !errors.Is(err, ErrRefused) {
		t.Fatalf("error %v, want ErrRefused", err)
	}
}

// A slave whose lineage entries are malformed is refused for good, and
// one that never sends them is cut after the idle limit; the master keeps
// serving.
func TestLineageHostileEntries(t *testing.T) {
	d := t.TempDir()
	dir := filepath.Join(d, "master")
	end := writeRecords(t, dir, lineageSeg, 45, 256<<10)
	tm, _ := startLineageMaster(t, dir, filepath.Join(d, "lineage"), MasterConfig{Heartbeat: 100 * time.Millisecond, Housekeeping: time.Second}, testLogger(t))
	waitHashed(t, tm, end)
	lay := testLayout(t, lineageSeg)
	data := dirBytes(t, dir, lay, end)
	send := func(entries []byte) (haproto.HelloReply, error) {
		conn, err := net.Dial("tcp", tm.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(5 * time.Second))
		h, _ := lineageHello(lay, data)
		if err := haproto.WriteHello(conn, h); err != nil {
			t.Fatal(err)
		}
		if rep, err := haproto.ReadHelloReply(conn); err != nil || !rep.LineageWanted {
			t.Fatalf("first reply %+v %v, want a lineage request", rep, err)
		}
		if entries != nil {
			conn.Write(entries)
		}
		return haproto.ReadHelloReply(conn)
	}
	// Two entries with the same base: not increasing.
	var bad []byte
	for range 3 {
		bad = append(bad, make([]byte, haproto.SegLineageSize)...)
	}
	rep, err := send(bad)
	if err != nil || rep.Code != haproto.CodeLayout || rep.Retry {
		t.Fatalf("malformed entries: reply %+v, error %v; want a permanent refusal", rep, err)
	}
	// Nothing sent: the master gives up after the idle limit, with a
	// refusal the slave may retry.
	start := time.Now()
	if rep, err := send(nil); err != nil || !rep.Retry || rep.Error == "" {
		t.Fatalf("silent slave: reply %+v, error %v; want a retryable refusal", rep, err)
	}
	if time.Since(start) > 4*time.Second {
		t.Fatal("the master waited beyond its idle limit for the lineage entries")
	}
	if rep, _ := lineageSession(t, tm.addr, lay, data); rep.Error != "" {
		t.Fatalf("an honest slave after the hostile ones: %q", rep.Error)
	}
}
