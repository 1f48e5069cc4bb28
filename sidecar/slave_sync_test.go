package sidecar

import (
	"context"
	"testing"
	"time"

	"github.com/hasidecar/hasidecar/applier"
	"github.com/hasidecar/hasidecar/sidecar/sidecartest"
)

// TestIdleSlaveDoesNotWakeToSync: a slave under an interval sync policy
// that has caught up and synced everything does not wake its sync loop
// while heartbeats keep arriving, and wakes again (and syncs) once new
// bytes are applied. The window is counted in heartbeats received, not
// slept.
func TestIdleSlaveDoesNotWakeToSync(t *testing.T) {
	mdir, sdir := tempDirs(t)
	end := writeRecords(t, mdir, testSeg, 200, 100)
	tm := startMaster(t, mdir, MasterConfig{Heartbeat: 20 * time.Millisecond})

	log := testLogger(t)
	lay := testLayout(t, testSeg)
	app, err := applier.Open(log.Named("applier"), sdir, sdir+".state", lay,
		applier.Options{Sync: applier.SyncInterval, Interval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	// SyncEvery was the old loop's tick: at 5 ms it woke about 20 times
	// in the window below.
	cfg := SlaveConfig{Master: tm.addr, Heartbeat: 20 * time.Millisecond, StallAfter: time.Hour,
		SyncEvery: 5 * time.Millisecond, MinBackoff: 10 * time.Millisecond, MaxBackoff: 100 * time.Millisecond}
	s := NewSlave(log.Named("slave"), cfg, lay, app)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done; app.Close() })

	sidecartest.Eventually(t, 10*time.Second, "slave caught up and synced", func() bool {
		return s.End() == end && app.Synced() == end && s.Ready() == nil
	})
	wakes := s.sync.wakes.Load()
	heartbeats(t, s, 10)
	if n := s.sync.wakes.Load() - wakes; n != 0 {
		t.Fatalf("the idle, synced slave's sync loop woke %d times over 10 heartbeats; want 0", n)
	}

	end2 := writeRecords(t, mdir, testSeg, 50, 100) // the writer appends to the same directory
	if end2 <= end {
		t.Fatalf("writer end %d after appending, was %d", end2, end)
	}
	sidecartest.Eventually(t, 10*time.Second, "new bytes synced", func() bool { return app.Synced() == end2 })
	if s.sync.wakes.Load() == wakes {
		t.Fatal("the sync loop did not wake for unsynced bytes")
	}
}

// heartbeats waits (bounded) until the slave has received n more frames.
func heartbeats(t *testing.T, s *Slave, n int) {
	t.Helper()
	last, seen := s.lastFrame.Load(), 0
	sidecartest.EventuallyEvery(t, 10*time.Second, time.Millisecond, "heartbeats received", func() bool {
		if cur := s.lastFrame.Load(); cur != last {
			last, seen = cur, seen+1
		}
		return seen >= n
	})
}
