package sidecar

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hasidecar/hasidecar/sidecar/ack"
	"github.com/hasidecar/hasidecar/sidecar/sidecartest"
)

// TestFakeClassicSlaveCannotCommit: a peer that reports the master's end and
// never reads a byte must not make a WAIT succeed: a classic first report
// is a request, not proof that the slave holds anything.
func TestFakeClassicSlaveCannotCommit(t *testing.T) {
	mdir, _ := tempDirs(t)
	end := writeRecords(t, mdir, testSeg, 300, 500)
	tm := startMaster(t, mdir, MasterConfig{})
	sidecartest.Eventually(t, 5*time.Second, "master end", func() bool { return tm.tail.State().End == end })
	r := dialRaw(t, tm.addr)
	r.report(end)
	sidecartest.Eventually(t, 5*time.Second, "fake slave streaming", func() bool { return len(tm.m.Stats().Slaves) == 1 })
	r.report(end) // a heartbeat report of the same offset proves nothing either
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if res := tm.tracker.Wait(ctx, end); res.Status == ack.OK {
		t.Fatalf("WAIT(%d) answered OK on the word of a slave that received nothing: %+v", end, res)
	}
}

// TestRewrittenLiveSegmentIsNotSpliced: the master's live segment is
// replaced by a file with other bytes (a broker restart that rewrote its
// tail). The slave that held the old bytes is cut and refused on
// reconnect, never receives new bytes above old ones, and WAITs over the
// rewritten range are not answered OK. A fresh slave replicates the new
// file exactly.
func TestRewrittenLiveSegmentIsNotSpliced(t *testing.T) {
	root := t.TempDir()
	mdir, sdir := filepath.Join(root, "master"), filepath.Join(root, "slave")
	end := writeRecords(t, mdir, testSeg, 400, 1000)
	oldBytes := readAll(t, mdir)
	tm := startMaster(t, mdir, MasterConfig{})
	ts := startSlave(t, sdir, testSeg, SlaveConfig{Master: tm.addr})
	sidecartest.Eventually(t, 10*time.Second, "slave caught up", func() bool { return ts.app.End() == end })
	sidecartest.Eventually(t, 5*time.Second, "acknowledged", func() bool { return tm.tracker.Snapshot().Committed == end })

	// The new file: other records, longer than the old ones.
	alt := filepath.Join(root, "alt")
	newEnd := writeRecords(t, alt, testSeg, 500, 1001)
	name := testLayout(t, testSeg).SegmentName(0)
	newBytes, err := os.ReadFile(filepath.Join(alt, name))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(alt, name), filepath.Join(mdir, name)); err != nil {
		t.Fatal(err)
	}

	ts.waitEnded(t, ErrDiverged, "the slave holding the old bytes was not refused")
	d := tm.m.Stats().Diverged
	if d.Count != 1 || d.At >= end {
		t.Fatalf("divergence %+v, want one below %d", d, end)
	}
	// No mixture: the slave holds exactly the old bytes up to its end.
	got := readAll(t, sdir)[:ts.app.End()]
	if !bytes.Equal(got, oldBytes[:len(got)]) {
		t.Fatalf("slave bytes differ from the old master bytes at %d", firstDiffAt(got, oldBytes))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if res := tm.tracker.Wait(ctx, end); res.Status == ack.OK {
		t.Fatalf("WAIT(%d) over the rewritten range answered OK: %+v", end, res)
	}

	// A fresh slave gets the new bytes, whole.
	fresh := filepath.Join(root, "fresh")
	tf := startSlave(t, fresh, testSeg, SlaveConfig{Master: tm.addr})
	sidecartest.Eventually(t, 10*time.Second, "fresh slave caught up", func() bool { return tf.app.End() == newEnd })
	if got := readAll(t, fresh)[:newEnd]; !bytes.Equal(got, newBytes[:newEnd]) {
		t.Fatalf("fresh slave differs from the new file at %d", firstDiffAt(got, newBytes))
	}
	if st := tm.m.Stats(); st.Diverged.Active || tm.m.Healthy() != nil {
		t.Fatalf("divergence still active after the new bytes settled: %+v", st.Diverged)
	}

	// The fresh slave holds the new bytes: reconnecting above the
	// divergence point, it proves them and is served again.
	tf.stop()
	if err := tf.app.Close(); err != nil {
		t.Fatal(err)
	}
	again := startSlave(t, fresh, testSeg, SlaveConfig{Master: tm.addr})
	sidecartest.Eventually(t, 10*time.Second, "the fresh slave streaming again", func() bool {
		st := tm.m.Stats()
		return len(st.Slaves) == 1 && SlaveState(st.Slaves[0].State) == SlaveStreaming
	})
	select {
	case err := <-again.done:
		t.Fatalf("the slave holding the new bytes was refused: %v", err)
	default:
	}
}

// TestRewriteFarBelowTheSlaveEnd: one byte of the live segment, far below
// the slave's end, changes in a replaced file. The hello's tail digest
// covers only the last bytes, which match; the master must still refuse the
// slave, which holds the old byte, instead of vouching for it.
func TestRewriteFarBelowTheSlaveEnd(t *testing.T) {
	root := t.TempDir()
	mdir, sdir := filepath.Join(root, "master"), filepath.Join(root, "slave")
	end := writeRecords(t, mdir, testSeg, 400, 1000)
	tm := startMaster(t, mdir, MasterConfig{})
	ts := startSlave(t, sdir, testSeg, SlaveConfig{Master: tm.addr})
	sidecartest.Eventually(t, 10*time.Second, "slave caught up", func() bool { return ts.app.End() == end })

	name := testLayout(t, testSeg).SegmentName(0)
	data, err := os.ReadFile(filepath.Join(mdir, name))
	if err != nil {
		t.Fatal(err)
	}
	data[13]++ // the first record's queue id: not covered by its CRC, still valid
	tmp := filepath.Join(mdir, "replacement.tmp")
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(mdir, name)); err != nil {
		t.Fatal(err)
	}
	ts.waitEnded(t, ErrDiverged, "the slave holding the old byte was not refused")
	if d := tm.m.Stats().Diverged; d.At != 13 {
		t.Fatalf("divergence at %d, want 13", d.At)
	}
}

func firstDiffAt(a, b []byte) int {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	return i
}
