package sidecar

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/hasidecar/hasidecar/applier"
	"github.com/hasidecar/hasidecar/plugins/rocketmq"
	"github.com/hasidecar/hasidecar/sidecar/digest"
	"github.com/hasidecar/hasidecar/sidecar/lineage"
	"github.com/hasidecar/hasidecar/sidecar/sidecartest"
	"github.com/hasidecar/hasidecar/sidecar/verify"
)

// linSeg is the segment size of the lineage tests: a few blocks each.
const linSeg = 4 << 20

func openStore(t testing.TB, dir string) *lineage.Store {
	t.Helper()
	st, err := lineage.Open(testLogger(t), dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// startLinMaster runs a master keeping lineage over dir.
func startLinMaster(t testing.TB, dir string) *testMaster {
	return startMasterCfg(t, dir, linSeg, MasterConfig{Lineage: openStore(t, dir+".lin"), Dir: dir})
}

// linSlave runs a slave with lineage over dir; its lineage lives in
// dir.state/lineage, beside the checkpoint, as the role puts it.
func linSlave(t testing.TB, dir string, cfg SlaveConfig, log *zap.Logger) (*testSlave, *lineage.Store) {
	t.Helper()
	st := openStore(t, filepath.Join(dir+".state", "lineage"))
	cfg.Lineage = st
	cfg.MinBackoff, cfg.MaxBackoff = 10*time.Millisecond, 100*time.Millisecond
	if log == nil {
		log = testLogger(t)
	}
	lay := testLayout(t, linSeg)
	app, err := applier.Open(log.Named("applier"), dir, dir+".state", lay, applier.Options{Sync: applier.SyncInterval, Interval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	cfg.SyncEvery = 5 * time.Millisecond
	ts := &testSlave{app: app, done: make(chan error, 1), s: NewSlave(log.Named("slave"), cfg, lay, app)}
	ctx, cancel := context.WithCancel(context.Background())
	ts.cancel = cancel
	go func() { ts.done <- ts.s.Run(ctx) }()
	t.Cleanup(func() { ts.stop(); app.Close() })
	return ts, st
}

func waitEnd(t testing.TB, ts *testSlave, end int64) {
	t.Helper()
	sidecartest.Eventually(t, 20*time.Second, fmt.Sprintf("slave end and synced end %d", end),
		func() bool { return ts.s.End() == end && ts.app.Synced() == end })
}

// flip inverts one byte of a file in place.
func flip(t testing.TB, path string, at int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := []byte{0}
	if _, err := f.ReadAt(b, at); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0xff
	if _, err := f.WriteAt(b, at); err != nil {
		t.Fatal(err)
	}
}

// TestSlaveLineageFollowsTheStream replicates several segments, checks
// the slave's lineage equals the master's block for block, and that a
// restarted slave (the partial block lost, rebuilt from the file) is
// accepted by the lineage comparison again.
func TestSlaveLineageFollowsTheStream(t *testing.T) {
	mdir, sdir := tempDirs(t)
	end := writeRecords(t, mdir, linSeg, 3000, 4000) // ~12 MB: 3 segments
	tm := startLinMaster(t, mdir)
	ts, st := linSlave(t, sdir, SlaveConfig{Master: tm.addr, StopOnRefusal: true}, nil)
	waitEnd(t, ts, end)
	sidecartest.Eventually(t, 10*time.Second, "slave ready", func() bool { return ts.s.Ready() == nil })
	mst := tm.m.cfg.Lineage
	sidecartest.Eventually(t, 10*time.Second, "master lineage covers the end", func() bool { c, _ := mst.Covered(8 << 20); return c == end })
	for seg := int64(0); seg < end; seg += linSeg {
		to := min(seg+linSeg, end)
		a, err := st.Blocks(seg, seg, to)
		b, err2 := mst.Blocks(seg, seg, to)
		if err != nil || err2 != nil || len(a) == 0 || fmt.Sprint(a) != fmt.Sprint(b) {
			t.Fatalf("segment %d: slave lineage %v (%v), master %v (%v)", seg, a, err, b, err2)
		}
	}
	ts.stop()
	ts.app.Close()
	st.Close()
	core, logs := observer.New(zap.InfoLevel)
	ts2, _ := linSlave(t, sdir, SlaveConfig{Master: tm.addr, StopOnRefusal: true}, zap.New(core))
	sidecartest.Eventually(t, 10*time.Second, "restarted slave ready", func() bool { return ts2.s.Ready() == nil })
	if n := logs.FilterMessageSnippet("rebuilt its lineage").Len(); n != 0 {
		t.Fatalf("a restart without outside changes rebuilt %d segments", n)
	}
}

// TestSlaveFlippedByteSeenAtReconnect flips a byte of a sealed segment of
// a stopped slave: at its next hello the slave rebuilds that segment's
// lineage from the file and the master refuses it as diverged, naming the
// block.
func TestSlaveFlippedByteSeenAtReconnect(t *testing.T) {
	mdir, sdir := tempDirs(t)
	end := writeRecords(t, mdir, linSeg, 3000, 4000)
	tm := startLinMaster(t, mdir)
	ts, st := linSlave(t, sdir, SlaveConfig{Master: tm.addr, StopOnRefusal: true}, nil)
	waitEnd(t, ts, end)
	ts.stop()
	ts.app.Close()
	st.Close()
	const at = linSeg + 2<<20 + 12345 // block 2 of segment 1
	flip(t, filepath.Join(sdir, testLayout(t, linSeg).SegmentName(linSeg)), at-linSeg)
	ts2, _ := linSlave(t, sdir, SlaveConfig{Master: tm.addr, StopOnRefusal: true}, nil)
	var err error
	select {
	case err = <-ts2.done:
		ts2.once.Do(func() {})
	case <-time.After(20 * time.Second):
		t.Fatal("slave with a flipped byte was not refused")
	}
	var re *refusalError
	if !errors.Is(err, ErrDiverged) || !errors.As(err, &re) || re.common == nil || *re.common != linSeg+2<<20 {
		t.Fatalf("refusal %v: want diverged with common point %d", err, linSeg+2<<20)
	}
	if !strings.Contains(re.reason, fmt.Sprint(linSeg+2<<20)) {
		t.Fatalf("refusal %q does not name the block at %d", re.reason, linSeg+2<<20)
	}
}

// TestSlaveFlippedWhileRunningSeenAfterStop flips a byte on the slave's
// disk while it runs, then stops it cleanly: the stamp it takes at exit
// must not vouch for the stray write, so the next start refuses.
func TestSlaveFlippedWhileRunningSeenAfterStop(t *testing.T) {
	mdir, sdir := tempDirs(t)
	end := writeRecords(t, mdir, linSeg, 3000, 4000)
	tm := startLinMaster(t, mdir)
	ts, st := linSlave(t, sdir, SlaveConfig{Master: tm.addr, StopOnRefusal: true}, nil)
	waitEnd(t, ts, end)
	const at = linSeg + 2<<20 + 12345 // block 2 of segment 1
	flip(t, filepath.Join(sdir, testLayout(t, linSeg).SegmentName(linSeg)), at-linSeg)
	ts.stop()
	ts.app.Close()
	st.Close()
	ts2, _ := linSlave(t, sdir, SlaveConfig{Master: tm.addr, StopOnRefusal: true}, nil)
	select {
	case err := <-ts2.done:
		ts2.once.Do(func() {})
		if !errors.Is(err, ErrDiverged) {
			t.Fatalf("restarted slave: %v, want a diverged refusal", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("slave with a byte flipped while it ran was not refused after a clean stop")
	}
}

// TestTruncateDivergedRejoins seeds the slave with the master's first
// records and then a divergent tail of its own (an old master): with
// TruncateDiverged it is cut back to the last common record, keeps the
// cut bytes aside, and ends identical to the master.
func TestTruncateDivergedRejoins(t *testing.T) {
	mdir, sdir := tempDirs(t)
	common := writeRecords(t, mdir, linSeg, 1500, 4000)
	if err := os.MkdirAll(sdir, 0o755); err != nil {
		t.Fatal(err)
	}
	copyDir(t, mdir, sdir)                        // the records carry timestamps: copy, do not rewrite
	old := appendRecords(t, sdir, 700, 4500, 'x') // the old master's tail: ~3 MB
	end := appendRecords(t, mdir, 1000, 3000, 'y')
	tm := startLinMaster(t, mdir)
	ts, _ := linSlave(t, sdir, SlaveConfig{Master: tm.addr, TruncateDiverged: true, StopOnRefusal: true}, nil)
	waitEnd(t, ts, end)
	rep, err := verify.Dirs(testLayout(t, linSeg), mdir, sdir, verify.Options{})
	if err != nil || !rep.Equal() {
		t.Fatalf("verify after the cut: %+v, %v", rep, err)
	}
	cuts, _ := filepath.Glob(filepath.Join(sdir+".state", applier.CutPrefix+"*"))
	if len(cuts) != 1 {
		t.Fatalf("cut directories %v", cuts)
	}
	kept := keptBytes(t, cuts[0], sdir, old)
	// The master's common point is the start of the first differing block;
	// the cut is the last record boundary at or below it.
	if kept.At > common || kept.At < common-lineage.BlockSize-4200 || kept.OldEnd != old {
		t.Fatalf("cut at %d (old end %d), want the last record at or below the first differing block below %d", kept.At, kept.OldEnd, common)
	}
}

// appendRecords appends n records filled with fill to dir's log.
func appendRecords(t testing.TB, dir string, n, body int, fill byte) int64 {
	t.Helper()
	w, err := rocketmq.OpenWriter(nil, dir, rocketmq.WriterOptions{SegmentSize: linSeg})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	b := bytes.Repeat([]byte{fill}, body)
	var end int64
	for i := 0; i < n; i++ {
		if end, err = w.Append(&rocketmq.Message{Topic: "t", Body: b}); err != nil {
			t.Fatal(err)
		}
	}
	return end
}

// keptBytes reads a cut directory's info.json and checks that its files
// hold exactly the bytes the slave had there (the old tail, which carries
// the 'x' fill).
func keptBytes(t testing.TB, dir, sdir string, oldEnd int64) applier.Cut {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, applier.CutInfoName))
	if err != nil {
		t.Fatal(err)
	}
	var c applier.Cut
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, s := range c.Segments {
		b, err := os.ReadFile(filepath.Join(dir, s.Name))
		if err != nil || int64(len(b)) != s.To-s.From {
			t.Fatalf("kept %s: %d bytes, want %d: %v", s.Name, len(b), s.To-s.From, err)
		}
		if !bytes.Contains(b, bytes.Repeat([]byte{'x'}, 4500)) && s.To == oldEnd {
			t.Fatalf("kept %s lacks the old tail", s.Name)
		}
		n += int64(len(b))
	}
	if n != c.Bytes || c.Bytes != c.OldEnd-c.At {
		t.Fatalf("kept %d bytes, info says %d", n, c.Bytes)
	}
	return c
}

// TestScrubFindsAFlippedByte flips a byte of a running slave's sealed
// segment: the scrub, comparing with the master's digests, reports it,
// makes the slave diverged and fails its readiness.
func TestScrubFindsAFlippedByte(t *testing.T) {
	mdir, sdir := tempDirs(t)
	end := writeRecords(t, mdir, linSeg, 3000, 4000)
	tm := startLinMaster(t, mdir)
	var ts *testSlave
	cfg := SlaveConfig{Master: tm.addr, StopOnRefusal: true, ScrubRate: 256 << 20,
		DialDigests: func(ctx context.Context) (DigestSource, error) { return digest.Dial(ctx, ts.s.Dial) }}
	core, logs := observer.New(zap.InfoLevel)
	ts, _ = linSlave(t, sdir, cfg, zap.New(core))
	waitEnd(t, ts, end)
	sidecartest.Eventually(t, 20*time.Second, "scrub verifies the replica", func() bool { return ts.s.Stats().ScrubVerified >= end-end%lineage.BlockSize })
	sidecartest.Eventually(t, 20*time.Second, "slave ready", func() bool { return ts.s.Ready() == nil })
	if st := ts.s.Stats(); st.ScrubMismatches != 0 {
		t.Fatalf("clean replica: %+v", st)
	}
	const at = linSeg + 3<<20 + 99
	flip(t, filepath.Join(sdir, testLayout(t, linSeg).SegmentName(linSeg)), at-linSeg)
	sidecartest.Eventually(t, 30*time.Second, "scrub finds the flipped byte", func() bool { return ts.s.Stats().ScrubMismatches > 0 })
	st := ts.s.Stats()
	if st.State != SlaveDiverged || ts.s.Ready() == nil || !strings.Contains(st.Reason, fmt.Sprint(linSeg+3<<20)) {
		t.Fatalf("after the mismatch: state %s (%s), ready %v", st.State, st.Reason, ts.s.Ready())
	}
	if logs.FilterMessageSnippet("scrub found bytes that differ").FilterField(zap.Int64("offset", linSeg+3<<20)).Len() == 0 {
		t.Fatalf("no ERROR naming the range")
	}
}

func copyDir(t testing.TB, from, to string) {
	t.Helper()
	ents, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestSlaveBehindInsideABlockCatchesUp stops a slave whose end lies inside
// a block, lets the master move past that block, and restarts the slave:
// its hello offers the partial tail block, and it must be accepted.
func TestSlaveBehindInsideABlockCatchesUp(t *testing.T) {
	mdir, sdir := tempDirs(t)
	end := writeRecords(t, mdir, linSeg, 1300, 4000) // ~5.3 MB: inside block 1 of segment 1
	tm := startLinMaster(t, mdir)
	ts, st := linSlave(t, sdir, SlaveConfig{Master: tm.addr, StopOnRefusal: true}, nil)
	waitEnd(t, ts, end)
	ts.stop()
	ts.app.Close()
	st.Close()
	end = appendRecords(t, mdir, 500, 4000, 'z')
	mst := tm.m.cfg.Lineage
	sidecartest.Eventually(t, 10*time.Second, "master lineage past the slave's block", func() bool { c, _ := mst.Covered(linSeg); return c == end })
	ts2, _ := linSlave(t, sdir, SlaveConfig{Master: tm.addr, StopOnRefusal: true}, nil)
	waitEnd(t, ts2, end)
}
