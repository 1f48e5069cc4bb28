package main

import (
	"strings"
	"testing"
	"time"

	"github.com/hasidecar/hasidecar/sidecar/ack"
)

// TestReplicationOfUnknowns: what the master does not know stays null in
// JSON and "unknown" in the table, for a classic slave and for a master
// that predates the report extension; nothing is copied from the
// acknowledgement.
func TestReplicationOfUnknowns(t *testing.T) {
	classic := ack.ReplicaStatus{ID: "c#1", Sent: 100, Acked: 90, Reported: 90, Reports: 1, SlaveWritten: -1, SlaveSynced: -1, WriteLag: -1, FlushLag: -1}
	r := replicationOf(classic, 120)
	if r.Reports != "classic" || r.Written != nil || r.Synced != nil || r.WriteLagSeconds != nil || r.SendLagBytes != 20 || r.Reported == nil || *r.Reported != 90 {
		t.Fatalf("classic: %+v", r)
	}
	old := replicationOf(ack.ReplicaStatus{ID: "o#1", Sent: 100, Acked: 100}, 100)
	if old.Reports != "unknown" || old.Reported != nil || old.Written != nil || old.LastReportAt != nil || old.AckLagSeconds != nil {
		t.Fatalf("older master: %+v", old)
	}
	ext := ack.ReplicaStatus{ID: "e#1", Name: "e", Sent: 100, Acked: 100, Reports: 2, SlaveWritten: 100, SlaveSynced: 60,
		WriteLag: time.Millisecond, FlushLag: -1, LastReportAt: time.Now()}
	r = replicationOf(ext, 110)
	if *r.Written != 100 || *r.Synced != 60 || *r.WriteLagBytes != 10 || *r.FlushLagBytes != 50 || *r.WriteLagSeconds != 0.001 || r.FlushLagSeconds != nil {
		t.Fatalf("extended: %+v", r)
	}
	var b strings.Builder
	if err := printStatus(&b, ack.Snapshot{MasterEnd: 110, Slaves: []ack.ReplicaStatus{ext, classic}}, time.Now()); err != nil {
		t.Fatal(err)
	}
	if out := b.String(); !strings.Contains(out, "extended") || strings.Count(out, "note: ") != 1 || !strings.Contains(out, "unknown") {
		t.Fatalf("table:\n%s", out)
	}
}
