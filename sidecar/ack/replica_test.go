package ack

import (
	"testing"
	"time"
)

// TestReplicaAckLag: the lag of a report is measured from the write that
// carried its last byte; a heartbeat write times nothing; a report past
// every write leaves the lag as it was. Times are given, not slept for.
func TestReplicaAckLag(t *testing.T) {
	r := NewReplica("a#1", "a", "streaming")
	r.StartAt(0, 0)
	r.SetWritten(100)
	r.SetWritten(200)
	r.SetWritten(200) // a heartbeat
	if len(r.writes) != 2 {
		t.Fatalf("writes %+v: want two, the heartbeat not counted", r.writes)
	}
	t0 := time.Now().UnixNano()
	r.writes[0].at, r.writes[1].at = t0, t0+int64(20*time.Millisecond)
	r.measureLag(150, t0+int64(50*time.Millisecond))
	if lag := r.AckLag(); lag != 30*time.Millisecond {
		t.Fatalf("lag %v of a report of 150: want 30ms, timed from the write ending at 200", lag)
	}
	if len(r.writes) != 1 || r.writes[0].end != 200 {
		t.Fatalf("writes left %+v: want only the one ending at 200", r.writes)
	}
	if !r.Report(200) || len(r.writes) != 0 {
		t.Fatalf("after a report of 200: writes left %+v", r.writes)
	}
	lag := r.AckLag()
	r.Report(250) // beyond every write: nothing to time
	if r.AckLag() != lag {
		t.Fatal("a report past every write changed the lag")
	}
}
