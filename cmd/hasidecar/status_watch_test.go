package main

import (
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hasidecar/hasidecar/sidecar/sidecartest"
)

func TestProgressLine(t *testing.T) {
	now := time.Now()
	got := progressLine(50<<20, 100<<20, sample{acked: 40 << 20, at: now.Add(-time.Second)}, true, now)
	if !strings.Contains(got, " 50.0%") || !strings.Contains(got, "ETA 5s at 10.0 MiB/s") || strings.Count(got, "#") != 15 {
		t.Fatalf("progress line %q: want half a bar, 50%%, ETA 5s at 10 MiB/s", got)
	}
	if got := progressLine(50, 100, sample{}, false, now); !strings.Contains(got, "ETA unknown") {
		t.Fatalf("progress line without an earlier sample %q: want an unknown ETA", got)
	}
	if got := progressLine(50, 100, sample{acked: 50, at: now.Add(-time.Second)}, true, now); !strings.Contains(got, "ETA unknown") {
		t.Fatalf("progress line without progress %q: want an unknown ETA, never a made-up one", got)
	}
}

// TestE2EStatusWatch: `status --watch` off a terminal prints one plain
// snapshot per interval (no screen control codes) and stops on SIGINT.
func TestE2EStatusWatch(t *testing.T) {
	c := newSyncCluster(t)
	c.startMaster()
	c.writeCount(100)
	c.startSlave()
	c.waitSlaves(1)
	w := start(t, "status-watch", "status", "--socket", c.sock, "--watch", "--interval", "100ms")
	sidecartest.Eventually(t, 20*time.Second, "three snapshots", func() bool {
		return strings.Count(w.out.String(), "master end") >= 3
	})
	w.cmd.Process.Signal(syscall.SIGINT)
	if err := w.wait(10 * time.Second); err != nil {
		t.Fatalf("status --watch after SIGINT: %v\n%s", err, w.out.String())
	}
	if out := w.out.String(); strings.Contains(out, "\033[") || !strings.Contains(out, "NAME") {
		t.Fatalf("watch output off a terminal has control codes or no slave table:\n%s", out)
	}
}
