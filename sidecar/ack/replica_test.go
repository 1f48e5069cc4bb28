package ack

import (
	"testing"
	"time"
)

// TestReplicaAckLag: the lag of a report is measured from the write that
// carried its last byte, and a heartbeat write times nothing.
func TestReplicaAckLag(t *testing.T) {
	r := NewReplica("a#1", "a", "streaming")
	r.StartAt(0, 0)
	r.SetWritten(100)
	time.Sleep(20 * time.Millisecond) // the two writes must be told apart by time
	r.SetWritten(200)
	r.SetWritten(200) // a heartbeat
	second := time.Now()
	if !r.Report(150) {
		t.Fatal("a report of 150 after 0 did not advance")
	}
	if lag := r.AckLag(); lag <= 0 || lag > time.Since(second)+time.Millisecond {
		t.Fatalf("lag %v of a report of 150: want it timed from the write ending at 200", lag)
	}
	if len(r.writes) != 1 || r.writes[0].end != 200 {
		t.Fatalf("writes left %+v: want only the one ending at 200", r.writes)
	}
	r.Report(200)
	if len(r.writes) != 0 {
		t.Fatalf("writes left %+v after a report of 200", r.writes)
	}
	lag := r.AckLag()
	r.Report(250) // beyond every write: nothing to time, the lag stays
	if r.AckLag() != lag {
		t.Fatal("a report past every write changed the lag")
	}
}
