package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/hasidecar/hasidecar/sidecar/sidecartest"
)

// labelled is the value of name's series with slave=label, if there is one.
func labelled(fams map[string]*dto.MetricFamily, name, label string) (float64, bool) {
	f, ok := fams[name]
	if !ok {
		return 0, false
	}
	for _, m := range f.Metric {
		for _, l := range m.Label {
			if l.GetName() == "slave" && l.GetValue() == label && m.Gauge != nil {
				return m.Gauge.GetValue(), true
			}
		}
	}
	return 0, false
}

// TestE2EReplicationView: the real binary, real TCP. A sidecar slave with
// --ack-after write and --fsync none shows, in status, status --json,
// status --watch and the metrics, its written end at the master's end and
// its synced end behind it; a classic slave shows its acknowledgement and
// says its written and synced ends are unknown, in every view.
func TestE2EReplicationView(t *testing.T) {
	c := newSyncCluster(t)
	mm := freeAddr(t)
	c.startMaster("--metrics-listen", mm)
	end := c.writeCount(200)
	c.startSlave("--name", "ext1", "--ack-after", "write", "--fsync", "none")
	c.startSlaveIn("classic", filepath.Join(c.dir, "c", "commitlog"), "--classic")
	c.waitSlaves(2)
	var ext, classic statusSlave
	sidecartest.Eventually(t, 30*time.Second, "both slaves to acknowledge the end in status --json", func() bool {
		out, code := runBin(t, "status", "--socket", c.sock, "--json")
		var doc struct {
			Slaves []statusSlave `json:"slaves"`
		}
		if code != 0 || json.Unmarshal([]byte(out), &doc) != nil {
			return false
		}
		ext, classic = statusSlave{}, statusSlave{}
		for _, s := range doc.Slaves {
			if s.replicationJSON.Reports == "extended" {
				ext = s
			} else {
				classic = s
			}
		}
		return ext.Acked == end && classic.Acked == end && ext.Written != nil && *ext.Written == end
	})
	if ext.Name != "ext1" || ext.Synced == nil || *ext.Synced >= end || ext.FlushLagBytes == nil || *ext.FlushLagBytes != end-*ext.Synced ||
		*ext.WriteLagBytes != 0 || ext.WriteLagSeconds == nil || ext.replicationJSON.LastReportAt == nil {
		t.Fatalf("sidecar slave in status --json: %+v: want written %d ahead of synced, lags in bytes and seconds, a last report", ext, end)
	}
	if classic.replicationJSON.Reports != "classic" || classic.Written != nil || classic.Synced != nil || classic.WriteLagBytes != nil ||
		!strings.Contains(classic.Note, "unknown") || classic.replicationJSON.LastReportAt == nil {
		t.Fatalf("classic slave in status --json: %+v: want written and synced null and a note saying they are unknown", classic)
	}
	out, code := runBin(t, "status", "--socket", c.sock)
	t.Logf("status:\n%s", out)
	if code != 0 || !strings.Contains(out, "WRITTEN") || !strings.Contains(out, "extended") || !strings.Contains(out, "classic") ||
		!strings.Contains(out, "unknown") || !strings.Contains(out, "note: classic slave") {
		t.Fatalf("status table lacks the replication view:\n%s", out)
	}
	var fams map[string]*dto.MetricFamily
	sidecartest.Eventually(t, 10*time.Second, "metrics scraped", func() bool { fams = scrape(t, mm); return fams != nil })
	w, okW := labelled(fams, "hasidecar_master_slave_written_offset", "ext1")
	s, okS := labelled(fams, "hasidecar_master_slave_synced_offset", "ext1")
	x, okX := labelled(fams, "hasidecar_master_slave_extended_reports", "ext1")
	if !okW || !okS || !okX || int64(w) != end || int64(s) >= end || x != 1 {
		t.Fatalf("sidecar slave metrics: written %v %v synced %v %v extended %v: want written %d ahead of synced", w, okW, s, okS, x, end)
	}
	if _, ok := labelled(fams, "hasidecar_master_slave_write_lag_seconds", "ext1"); !ok {
		t.Fatal("no write lag in seconds for the sidecar slave")
	}
	if x, ok := labelled(fams, "hasidecar_master_slave_extended_reports", "127.0.0.1"); !ok || x != 0 {
		t.Fatalf("classic slave extended_reports %v %v: want 0", x, ok)
	}
	for _, name := range []string{"hasidecar_master_slave_written_offset", "hasidecar_master_slave_synced_offset", "hasidecar_master_slave_write_lag_seconds"} {
		if v, ok := labelled(fams, name, "127.0.0.1"); ok {
			t.Fatalf("%s{slave=127.0.0.1} = %v for a classic slave: invented", name, v)
		}
	}
	watch := start(t, "status-watch", "status", "--socket", c.sock, "--watch", "--interval", "100ms")
	sidecartest.Eventually(t, 20*time.Second, "two watch snapshots with the replication view", func() bool {
		return strings.Count(watch.out.String(), "WRITTEN") >= 2
	})
	watch.cmd.Process.Signal(syscall.SIGINT)
	if err := watch.wait(10 * time.Second); err != nil {
		t.Fatalf("status --watch: %v", err)
	}
}
