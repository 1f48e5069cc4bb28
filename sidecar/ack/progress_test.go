package ack

import (
	"testing"
	"time"
)

// TestReplicaProgressLags: an extended slave's written and synced ends
// time their own lags from the write that carried their last byte, and the
// writes the synced end still needs survive an acknowledgement past them.
func TestReplicaProgressLags(t *testing.T) {
	r := NewReplica("a#1", "a", "streaming")
	r.StartAt(0, 0)
	r.SetReports(2)
	r.SetWritten(100)
	r.SetWritten(200)
	t0 := time.Now().UnixNano()
	r.writes[0].at, r.writes[1].at = t0, t0+int64(20*time.Millisecond)
	r.wmu.Lock()
	r.advance(&r.prog.written, &r.prog.writeLag, 200, t0+int64(25*time.Millisecond))
	r.advance(&r.prog.synced, &r.prog.flushLag, 50, t0+int64(40*time.Millisecond))
	r.wmu.Unlock()
	r.measureLag(200, t0+int64(25*time.Millisecond)) // --ack-after write: acked == written
	st := r.Status()
	if st.SlaveWritten != 200 || st.SlaveSynced != 50 || st.WriteLag != 5*time.Millisecond || st.FlushLag != 40*time.Millisecond {
		t.Fatalf("status %+v: want written 200 (5ms), synced 50 (40ms)", st)
	}
	if len(r.writes) != 2 {
		t.Fatalf("writes left %+v: the synced end 50 still needs both", r.writes)
	}
	r.wmu.Lock()
	r.advance(&r.prog.synced, &r.prog.flushLag, 200, t0+int64(70*time.Millisecond))
	r.wmu.Unlock()
	r.measureLag(250, t0+int64(70*time.Millisecond)) // past every write: trims nothing, times nothing
	if st := r.Status(); st.FlushLag != 50*time.Millisecond {
		t.Fatalf("flush lag %v, want 50ms from the write ending at 200", st.FlushLag)
	}
}

// TestReplicaProgressClassicUnknown: a classic slave's written and synced
// ends and lags stay unknown (-1), never copied from its acknowledgement.
func TestReplicaProgressClassicUnknown(t *testing.T) {
	r := NewReplica("a#1", "a", "streaming")
	r.StartAt(0, 0)
	r.SetReports(1)
	r.SetWritten(100)
	r.Report(100)
	st := r.Status()
	if st.Reports != 1 || st.SlaveWritten != -1 || st.SlaveSynced != -1 || st.WriteLag != -1 || st.FlushLag != -1 {
		t.Fatalf("classic status %+v: want written, synced and their lags unknown", st)
	}
}

// TestReplicaProgressStartNotTimed: ends at or below the stream's start
// are the slave's own old bytes: no lag is timed for them.
func TestReplicaProgressStartNotTimed(t *testing.T) {
	r := NewReplica("a#1", "a", "streaming")
	r.StartAt(500, 500)
	r.SetReports(2)
	r.SetWritten(600)
	r.Progress(500, 500)
	if st := r.Status(); st.SlaveWritten != 500 || st.WriteLag != -1 || st.FlushLag != -1 {
		t.Fatalf("status %+v: want ends 500 with no lag", st)
	}
}

// TestStatusProgressRoundTrip: QUERY_EXT's STATUS carries each slave's
// report format, ends, lags and last report; unknown stays unknown.
func TestStatusProgressRoundTrip(t *testing.T) {
	snap := Snapshot{Policy: Policy{Kind: Any}, Slaves: []ReplicaStatus{
		{ID: "a#1", Addr: "x", Reports: 2, Reported: 90, SlaveWritten: 90, SlaveSynced: 40, AckLag: 3 * time.Millisecond,
			WriteLag: 3 * time.Millisecond, FlushLag: time.Second, LastReportAt: time.UnixMilli(77)},
		{ID: "b#2", Addr: "y", Reports: 1, Reported: 10, SlaveWritten: -1, SlaveSynced: -1, WriteLag: -1, FlushLag: -1},
	}}
	got := decodeFrame(t, AppendSnapshotExt(nil, 7, snap)).Snapshot
	a, b := got.Slaves[0], got.Slaves[1]
	if a.Reports != 2 || a.Reported != 90 || a.SlaveWritten != 90 || a.SlaveSynced != 40 || a.WriteLag != 3*time.Millisecond ||
		a.FlushLag != time.Second || a.AckLag != 3*time.Millisecond || !a.LastReportAt.Equal(time.UnixMilli(77)) {
		t.Fatalf("extended slave decoded %+v", a)
	}
	if b.Reports != 1 || b.SlaveWritten != -1 || b.SlaveSynced != -1 || b.WriteLag != -1 || b.FlushLag != -1 {
		t.Fatalf("classic slave decoded %+v", b)
	}
	if old := decodeFrame(t, AppendSnapshot(nil, 8, snap)).Snapshot; old.Slaves[0].Reports != 0 {
		t.Fatalf("QUERY's STATUS carries progress: %+v", old.Slaves[0])
	}
}
