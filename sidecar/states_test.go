package sidecar

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest"
	"go.uber.org/zap/zaptest/observer"

	"github.com/hasidecar/hasidecar/plugins/rocketmq"
	"github.com/hasidecar/hasidecar/sidecar/faultproxy"
	"github.com/hasidecar/hasidecar/sidecar/sidecartest"
)

// observed is a logger that writes to the test and records entries.
func observed(t *testing.T) (*zap.Logger, *observer.ObservedLogs) {
	core, logs := observer.New(zapcore.InfoLevel)
	return zap.New(zapcore.NewTee(zaptest.NewLogger(t).Core(), core)), logs
}

// transitions returns the "old->new" pairs of the state changes logged
// by loggers whose name is name.
func transitions(logs *observer.ObservedLogs, name string) []string {
	var out []string
	for _, e := range logs.FilterMessage("replication state changed").All() {
		if e.LoggerName != name {
			continue
		}
		m := e.ContextMap()
		out = append(out, m["old_state"].(string)+"->"+m["new_state"].(string))
	}
	return out
}

func hasTransition(logs *observer.ObservedLogs, name, tr string) bool {
	for _, got := range transitions(logs, name) {
		if got == tr {
			return true
		}
	}
	return false
}

// TestStatesThroughCatchUp: a slave that starts 3 MB behind passes, on
// both ends, through connecting -> catching-up -> streaming, each change
// logged once with its old and new state.
func TestStatesThroughCatchUp(t *testing.T) {
	mdir, sdir := tempDirs(t)
	end := writeRecords(t, mdir, testSeg, 3000, 1000)
	log, logs := observed(t)
	tm := startMasterWith(t, mdir, testSeg, MasterConfig{}, log)
	sidecartest.Eventually(t, 10*time.Second, "the master's tail at the end", func() bool { return tm.tail.State().End == end })
	ts := startSlaveWith(t, sdir, testSeg, SlaveConfig{Master: tm.addr, Name: "s1"}, log)
	sidecartest.Eventually(t, 10*time.Second, "slave at the master's end", func() bool { return ts.s.End() == end })
	for _, name := range []string{"master", "slave"} {
		sidecartest.Eventually(t, 10*time.Second, name+" streaming", func() bool {
			return hasTransition(logs, name, "connecting->catching-up") && hasTransition(logs, name, "catching-up->streaming")
		})
	}
	st := tm.m.Stats()
	if len(st.Slaves) != 1 || SlaveState(st.Slaves[0].State) != SlaveStreaming || st.Slaves[0].Name != "s1" || st.State != MasterServing {
		t.Fatalf("master stats %+v: want one streaming slave named s1 on a serving master", st)
	}
	if err := tm.m.Ready(); err != nil {
		t.Fatalf("master Ready = %v with a streaming slave", err)
	}
	if err := ts.s.Ready(); err != nil {
		t.Fatalf("slave Ready = %v while streaming", err)
	}
}

// TestStalledBehindProxy: a stalled network between a streaming slave and
// its master, while the writer goes on, makes both ends say stalled with a
// reason, and both readiness checks fail; resuming the network heals it.
func TestStalledBehindProxy(t *testing.T) {
	mdir, sdir := tempDirs(t)
	writeRecords(t, mdir, testSeg, 100, 100)
	log, logs := observed(t)
	tm := startMasterWith(t, mdir, testSeg, MasterConfig{Heartbeat: 50 * time.Millisecond, StallAfter: 300 * time.Millisecond}, log)
	p, err := faultproxy.New(zaptest.NewLogger(t).Named("proxy"), tm.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ts := startSlaveWith(t, sdir, testSeg, SlaveConfig{Master: p.Addr(), Name: "s1", Heartbeat: 50 * time.Millisecond,
		StallAfter: 300 * time.Millisecond}, log)
	sidecartest.Eventually(t, 10*time.Second, "slave streaming", func() bool { return ts.s.Ready() == nil && tm.m.Ready() == nil })

	p.Stall()
	end := writeRecords(t, mdir, testSeg, 50, 100)
	sidecartest.Eventually(t, 10*time.Second, "master sees the slave stalled", func() bool {
		st := tm.m.Stats()
		return len(st.Slaves) == 1 && SlaveState(st.Slaves[0].State) == SlaveStalled &&
			strings.Contains(st.Slaves[0].Reason, "no acknowledgement progress")
	})
	sidecartest.Eventually(t, 10*time.Second, "slave sees itself stalled", func() bool {
		st := ts.s.Stats()
		return st.State == SlaveStalled && strings.Contains(st.Reason, "nothing received")
	})
	if err := tm.m.Ready(); !errors.Is(err, ErrNotReady) || !strings.Contains(err.Error(), "stalled") {
		t.Fatalf("master Ready = %v, want not ready: slave stalled", err)
	}
	if err := ts.s.Ready(); !errors.Is(err, ErrNotReady) {
		t.Fatalf("slave Ready = %v, want not ready", err)
	}
	for _, name := range []string{"master", "slave"} {
		var warned bool
		for _, e := range logs.FilterMessage("replication state changed").FilterLevelExact(zapcore.WarnLevel).All() {
			warned = warned || (e.LoggerName == name && e.ContextMap()["new_state"] == "stalled")
		}
		if !warned {
			t.Errorf("%s logged no WARN for the stall", name)
		}
	}
	p.Resume()
	sidecartest.Eventually(t, 10*time.Second, "both ends streaming again", func() bool {
		return ts.s.End() == end && ts.s.Ready() == nil && tm.m.Ready() == nil
	})
}

// TestMasterTailStalled: a record the layout cannot validate stops the
// master's tail; the master says stalled with the layout's reason, and so
// does its slave's connection.
func TestMasterTailStalled(t *testing.T) {
	mdir, sdir := tempDirs(t)
	end := writeRecords(t, mdir, testSeg, 10, 100)
	tm := startMaster(t, mdir, MasterConfig{})
	ts := startSlave(t, sdir, testSeg, SlaveConfig{Master: tm.addr})
	sidecartest.Eventually(t, 10*time.Second, "slave at the end", func() bool { return ts.s.End() == end })
	if st := tm.m.Stats(); st.State != MasterServing {
		t.Fatalf("master state %s before the bad record", st.State)
	}
	writeForeignRecord(t, mdir, end)
	sidecartest.Eventually(t, 20*time.Second, "master stalled", func() bool {
		st := tm.m.Stats()
		return st.State == MasterStalled && strings.Contains(st.StateReason, "magic") &&
			len(st.Slaves) == 1 && SlaveState(st.Slaves[0].State) == SlaveStalled && strings.Contains(st.Slaves[0].Reason, "magic")
	})
	if err := tm.m.Ready(); !errors.Is(err, ErrNotReady) || !strings.Contains(err.Error(), "stalled") {
		t.Fatalf("master Ready = %v, want not ready: stalled", err)
	}
	if err := tm.m.Healthy(); err != nil {
		t.Fatalf("master Healthy = %v: a stall is not a liveness failure", err)
	}
}

// writeForeignRecord writes at end a record with a fork's magic code.
func writeForeignRecord(t *testing.T, dir string, end int64) {
	t.Helper()
	rec := rocketmq.AppendRecord(nil, &rocketmq.Message{Topic: "t", Body: make([]byte, 100)}, end)
	binary.BigEndian.PutUint32(rec[4:], 0xDAA320B7)
	f, err := os.OpenFile(filepath.Join(dir, testLayout(t, testSeg).SegmentName(0)), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(rec, end); err != nil {
		t.Fatal(err)
	}
}

// TestMasterReadyNeedsSlaves: with no slave connected the policy cannot
// acknowledge anything: not ready, though alive.
func TestMasterReadyNeedsSlaves(t *testing.T) {
	mdir, _ := tempDirs(t)
	writeRecords(t, mdir, testSeg, 10, 100)
	tm := startMaster(t, mdir, MasterConfig{})
	sidecartest.Eventually(t, 10*time.Second, "master serving", func() bool { return tm.m.Stats().State == MasterServing })
	err := tm.m.Ready()
	if !errors.Is(err, ErrNotReady) || !strings.Contains(err.Error(), "0 connected") {
		t.Fatalf("Ready = %v with no slave", err)
	}
	if tm.m.Healthy() != nil {
		t.Fatal("a master without slaves is alive")
	}
}
