package sidecar

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hasidecar/hasidecar/applier"
	"github.com/hasidecar/hasidecar/plugins"
	"github.com/hasidecar/hasidecar/sidecar/sidecartest"
	"github.com/hasidecar/hasidecar/sidecar/verify"
)

// TestTwoSlavesOneHostTwoSeries: two slaves on one host (both 127.0.0.1)
// with their own names are two slaves in Stats, in STATUS and in the
// master's metrics.
func TestTwoSlavesOneHostTwoSeries(t *testing.T) {
	mdir, sdir := tempDirs(t)
	end := writeRecords(t, mdir, testSeg, 200, 100)
	tm := startMaster(t, mdir, MasterConfig{})
	a := startSlave(t, sdir+"-a", testSeg, SlaveConfig{Master: tm.addr, Name: "alpha"})
	b := startSlave(t, sdir+"-b", testSeg, SlaveConfig{Master: tm.addr, Name: "beta"})
	sidecartest.Eventually(t, 10*time.Second, "both slaves streaming at the end", func() bool {
		return a.s.End() == end && b.s.End() == end && a.s.Ready() == nil && b.s.Ready() == nil
	})
	sidecartest.Eventually(t, 10*time.Second, "two named slaves in STATUS", func() bool {
		snap := tm.tracker.Snapshot()
		return len(snap.Slaves) == 2 && snap.Slaves[0].Name != snap.Slaves[1].Name &&
			snap.Slaves[0].State == "streaming" && snap.MasterState == "serving"
	})
	st := tm.m.Stats()
	if len(st.Slaves) != 2 || st.Slaves[0].Name != "alpha" || st.Slaves[1].Name != "beta" ||
		!st.Slaves[0].Sidecar || SlaveState(st.Slaves[0].State) != SlaveStreaming {
		t.Fatalf("master stats %+v: want alpha and beta, streaming", st.Slaves)
	}
}

// reopener opens a slave directory again with another segment size, as
// SlaveConfig.Reopen's contract says: the empty state moves aside first.
type reopener struct {
	t             *testing.T
	dir, stateDir string
	app           *applier.Applier // the last one opened, closed at cleanup
}

func (r *reopener) reopen(size int64) (plugins.Layout, *applier.Applier, error) {
	if _, err := applier.MoveAside(r.dir, r.stateDir, "segment-size"); err != nil {
		return nil, nil, err
	}
	lay := testLayout(r.t, size)
	app, err := applier.Open(nil, r.dir, r.stateDir, lay, applier.Options{Sync: applier.SyncNone})
	if err == nil {
		r.app = app
	}
	return lay, app, err
}

// TestEmptySlaveTakesMasterSegmentSize: an empty slave configured with
// another segment size takes the master's and replicates an identical
// directory.
func TestEmptySlaveTakesMasterSegmentSize(t *testing.T) {
	mdir, sdir := tempDirs(t)
	end := writeRecords(t, mdir, testSeg, 3000, 700) // two segments
	tm := startMaster(t, mdir, MasterConfig{})
	r := &reopener{t: t, dir: sdir, stateDir: sdir + ".state"}
	t.Cleanup(func() {
		if r.app != nil {
			r.app.Close()
		}
	})
	ts := startSlave(t, sdir, 2*testSeg, SlaveConfig{Master: tm.addr, SegmentSizeFromMaster: true, Reopen: r.reopen})
	sidecartest.Eventually(t, 10*time.Second, "slave at the master's end", func() bool { return ts.s.End() == end })
	if got := r.app.End(); got != end {
		t.Fatalf("reopened applier end %d, want %d", got, end)
	}
	rep, err := verify.Dirs(testLayout(t, testSeg), mdir, sdir, verify.Options{Exact: true})
	if err != nil || !rep.Equal() {
		t.Fatalf("verify: %v %+v", err, rep)
	}
}

// TestSlaveWithDataKeepsSegmentSize: a slave that holds data in segments of
// another size is refused, naming both sizes, and its files stay as they are.
func TestSlaveWithDataKeepsSegmentSize(t *testing.T) {
	mdir, sdir := tempDirs(t)
	writeRecords(t, mdir, testSeg, 100, 100)
	writeRecords(t, sdir, 2*testSeg, 100, 100)
	before, err := os.ReadDir(sdir)
	if err != nil {
		t.Fatal(err)
	}
	tm := startMaster(t, mdir, MasterConfig{})
	r := &reopener{t: t, dir: sdir, stateDir: sdir + ".state"}
	ts := startSlave(t, sdir, 2*testSeg, SlaveConfig{Master: tm.addr, SegmentSizeFromMaster: true, Reopen: r.reopen})
	var got error
	select {
	case got = <-ts.done:
		ts.once.Do(func() {})
	case <-time.After(10 * time.Second):
		t.Fatal("slave with data in other segments was not refused")
	}
	if !errors.Is(got, ErrRefused) || !errors.Is(got, ErrLayoutMismatch) ||
		!strings.Contains(got.Error(), "1048576") || !strings.Contains(got.Error(), "2097152") {
		t.Fatalf("slave ended with %v, want a layout refusal naming both sizes", got)
	}
	if r.app != nil {
		t.Fatal("a slave holding data was reopened")
	}
	after, err := os.ReadDir(sdir)
	if err != nil || len(after) != len(before) {
		t.Fatalf("slave directory changed: %d entries, was %d (%v)", len(after), len(before), err)
	}
}
