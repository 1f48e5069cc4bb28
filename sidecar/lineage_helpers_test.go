package sidecar

import (
	"hash/crc32"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/hasidecar/hasidecar/plugins"
	"github.com/hasidecar/hasidecar/sidecar/haproto"
	"github.com/hasidecar/hasidecar/sidecar/lineage"
	"github.com/hasidecar/hasidecar/sidecar/sidecartest"
)

// lineageSeg is the segment size of the lineage tests: four blocks.
const lineageSeg = 4 * lineage.BlockSize

// startLineageMaster runs a master that keeps its lineage in stateDir.
// The store closes after the master stopped.
func startLineageMaster(t testing.TB, dir, stateDir string, cfg MasterConfig, log *zap.Logger) (*testMaster, *lineage.Store) {
	t.Helper()
	st, err := lineage.Open(log.Named("store"), stateDir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Errorf("close lineage: %v", err)
		}
	})
	cfg.Lineage, cfg.Dir = st, dir
	return startMasterWith(t, dir, lineageSeg, cfg, log), st
}

// waitHashed waits until the master published and hashed up to end.
func waitHashed(t testing.TB, tm *testMaster, end int64) {
	t.Helper()
	sidecartest.Eventually(t, 10*time.Second, "master lineage covers the data", func() bool {
		st := tm.m.Stats()
		return st.End >= end && st.Lineage.Covered >= end
	})
}

// dirBytes reads the master's bytes [0, end) from its segment files.
func dirBytes(t testing.TB, dir string, lay plugins.Layout, end int64) []byte {
	t.Helper()
	seg := lay.Info().SegmentSize
	out := make([]byte, 0, end)
	for base := int64(0); base < end; base += seg {
		b, err := os.ReadFile(filepath.Join(dir, lay.SegmentName(base)))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b[:min(seg, end-base)]...)
	}
	return out
}

// slaveLineage is what a slave holding data (its bytes from offset 0)
// offers in its hello: one entry per segment, and the partial tail block.
func slaveLineage(data []byte, seg int64) ([]haproto.SegLineage, int64, uint32) {
	end := int64(len(data))
	var entries []haproto.SegLineage
	for base := int64(0); base < end; base += seg {
		crcs := blockCRCs(data, base, seg)
		entries = append(entries, haproto.SegLineage{Base: base, Blocks: uint32(len(crcs)), Rollup: lineage.RollupOf(crcs)})
	}
	base := end - end%seg
	if end%seg == 0 {
		base = end - seg
	}
	n := (end - base) / lineage.BlockSize
	from := base + n*lineage.BlockSize
	if from == end {
		return entries, 0, 0
	}
	return entries, from, lineage.BlockCRC(data[from:end])
}

// blockCRCs are the CRCs of the complete blocks of the segment at base
// within data.
func blockCRCs(data []byte, base, seg int64) []uint32 {
	hi := min(base+seg, int64(len(data)))
	var crcs []uint32
	for off := base; off+lineage.BlockSize <= hi; off += lineage.BlockSize {
		crcs = append(crcs, lineage.BlockCRC(data[off:off+lineage.BlockSize]))
	}
	return crcs
}

// lineageHello is a sidecar hello for a slave holding data.
func lineageHello(lay plugins.Layout, data []byte) (haproto.Hello, []haproto.SegLineage) {
	seg := lay.Info().SegmentSize
	end := int64(len(data))
	entries, tailStart, tailCRC := slaveLineage(data, seg)
	ts := max(plugins.SegmentStart(lay.Info(), end-1), end-haproto.TailWindow)
	h := haproto.Hello{Version: haproto.Version, Layout: haproto.FromInfo(lay.Info()), End: end,
		TailStart: ts, TailCRC: crc32.Checksum(data[ts:end], castagnoli), Name: "fake",
		Lineage: len(entries), LineageOK: true, LineageTailStart: tailStart, LineageTailCRC: tailCRC}
	return h, entries
}

// lineageSession plays a slave's side of a hello with lineage: it answers
// the master's non-final replies from data and returns the final reply
// and the segment the master asked the block CRCs of (-1: none).
func lineageSession(t testing.TB, addr string, lay plugins.Layout, data []byte) (haproto.HelloReply, int64) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	h, entries := lineageHello(lay, data)
	if err := haproto.WriteHello(conn, h); err != nil {
		t.Fatal(err)
	}
	asked := int64(-1)
	for {
		rep, err := haproto.ReadHelloReply(conn)
		if err != nil {
			t.Fatalf("read hello reply: %v", err)
		}
		if err := haproto.CheckCommon(rep, h.End); err != nil {
			t.Fatalf("the slave would refuse the master's common: %v", err)
		}
		switch {
		case rep.Error != "":
			return rep, asked
		case rep.LineageWanted:
			err = haproto.WriteLineage(conn, entries)
		case rep.LineageOf != nil:
			asked = *rep.LineageOf
			err = haproto.WriteBlockCRCs(conn, blockCRCs(data, asked, lay.Info().SegmentSize))
		case len(rep.Prove) > 0:
			t.Fatalf("unexpected proof challenge %v", rep.Prove)
		default:
			return rep, asked
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}
