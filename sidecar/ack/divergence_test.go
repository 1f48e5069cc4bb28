package ack

import (
	"bytes"
	"context"
	"encoding/binary"
	"strings"
	"testing"
	"time"

	"github.com/hasidecar/hasidecar/sidecar/sidecartest"
)

func slaveAcked(t *testing.T, tr *Tracker, id string) int64 {
	t.Helper()
	for _, s := range tr.Snapshot().Slaves {
		if s.ID == id {
			return s.Acked
		}
	}
	t.Fatalf("no slave %s", id)
	return 0
}

// A slave sent data above the divergence is tainted: acked capped, later
// acks ignored; a slave sent nothing above it is untouched.
func TestDivergeTaintsSlavesSentAbove(t *testing.T) {
	tr := newTestTracker(t, "any", 0)
	tr.AddSlave("a", "x")
	tr.AddSlave("b", "y")
	tr.Sent("a", 1000)
	tr.Ack("a", 900)
	tr.Sent("b", 400)
	tr.Ack("b", 400)
	tr.Diverge(500, "writer truncated")
	if got := slaveAcked(t, tr, "a"); got != 500 {
		t.Fatalf("tainted slave acked %d, want capped at 500", got)
	}
	if got := tr.Snapshot().Committed; got != 500 {
		t.Fatalf("committed %d after divergence, want 500", got)
	}
	tr.Ack("a", 2000)
	tr.Ack("b", 450)
	if a, b := slaveAcked(t, tr, "a"), slaveAcked(t, tr, "b"); a != 500 || b != 450 {
		t.Fatalf("acks after divergence: a %d (tainted), b %d", a, b)
	}
	tr.Converged()
	tr.Ack("a", 3000)
	if got := slaveAcked(t, tr, "a"); got != 500 {
		t.Fatalf("tainted slave's ack counted after Converged: %d", got)
	}
	tr.RemoveSlave("a")
	tr.AddSlave("a", "x") // the slave's next connection starts clean
	tr.Ack("a", 600)
	if got := slaveAcked(t, tr, "a"); got != 600 {
		t.Fatalf("reconnected slave acked %d, want 600", got)
	}
}

// Outstanding waits above the divergence are answered NOT_AVAILABLE at
// once, with the reason; those at or below keep waiting.
func TestDivergeAnswersWaitsAbove(t *testing.T) {
	tr := newTestTracker(t, "any", 0)
	tr.AddSlave("a", "x")
	tr.Sent("a", 1000)
	ch, wg := startWaits(t.Context(), tr, []int64{300, 700, 900})
	sidecartest.Eventually(t, 5*time.Second, "the condition", func() bool { return tr.Waiting() == 3 })
	tr.Diverge(500, "writer truncated")
	for range 2 {
		r := <-ch
		if r[0] != 700 && r[0] != 900 || Status(r[1]) != NotAvailable {
			t.Fatalf("answer %v, want NOT_AVAILABLE for 700 and 900", r)
		}
	}
	if tr.Waiting() != 1 {
		t.Fatalf("%d waiting, want the wait for 300", tr.Waiting())
	}
	tr.Ack("a", 400) // ignored: a is tainted
	if tr.Waiting() != 1 {
		t.Fatal("a tainted slave's ack answered a wait")
	}
	tr.AddSlave("b", "y")
	tr.Ack("b", 300)
	wg.Wait()
	if r := <-ch; r[0] != 300 || Status(r[1]) != OK {
		t.Fatalf("wait below the divergence: %v", r)
	}
}

// While diverged a new wait above the offset is NOT_AVAILABLE at once,
// even one the committed offset covers; at or below it behaves as usual.
// After Converged, waits above are judged by untainted acks again.
func TestDivergedNewWaits(t *testing.T) {
	tr := newTestTracker(t, "any", 0)
	tr.AddSlave("a", "x")
	tr.Ack("a", 800) // sent 0: a is not tainted by Diverge(500)
	tr.Diverge(500, "writer truncated")
	r := tr.Wait(t.Context(), 600)
	if r.Status != NotAvailable || !strings.Contains(r.Reason, "above offset 500 was rewritten (diverged): writer truncated") {
		t.Fatalf("wait above while diverged: %+v", r)
	}
	if r := tr.Wait(t.Context(), 500); r.Status != OK {
		t.Fatalf("wait at the divergence offset: %+v", r)
	}
	snap := tr.Snapshot().Divergence
	if !snap.Active || snap.At != 500 || snap.Reason != "writer truncated" || time.Since(snap.Since) > time.Minute {
		t.Fatalf("snapshot divergence %+v", snap)
	}
	tr.Diverge(700, "again") // keeps the lower offset
	if d := tr.Snapshot().Divergence; d.At != 500 || d.Reason != "again" || !d.Since.Equal(snap.Since) {
		t.Fatalf("second divergence %+v", d)
	}
	tr.Converged()
	if d := tr.Snapshot().Divergence; d.Active {
		t.Fatalf("still diverged: %+v", d)
	}
	if r := tr.Wait(t.Context(), 600); r.Status != OK || r.Acked != 800 {
		t.Fatalf("wait above after Converged: %+v", r)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	if r := tr.Wait(ctx, 900); r.Status != Timeout {
		t.Fatalf("wait beyond the acks after Converged: %+v", r)
	}
}

// QUERY_EXT's STATUS carries the divergence in a trailer; QUERY's STATUS
// has none, so decoders from before the trailer keep working; a trailer
// longer than the fields known is skipped.
func TestStatusTrailer(t *testing.T) {
	s := Snapshot{MasterEnd: 9, Committed: 5, Policy: Policy{Kind: All}, Slaves: []ReplicaStatus{{ID: "a", Addr: "b", ConnectedAt: time.UnixMilli(3)}},
		Divergence: Divergence{Active: true, At: 7, Reason: "writer truncated", Since: time.UnixMilli(1234)}}
	resp, err := DecodeResponse(AppendSnapshotExt(nil, 1, s)[4:])
	if err != nil || resp.Snapshot.Divergence != s.Divergence || len(resp.Snapshot.Slaves) != 1 {
		t.Fatalf("ext: %+v %v", resp.Snapshot, err)
	}
	plain := AppendSnapshot(nil, 1, s)
	if resp, err := DecodeResponse(plain[4:]); err != nil || resp.Snapshot.Divergence != (Divergence{}) {
		t.Fatalf("plain: %+v %v", resp.Snapshot, err)
	}
	ext := AppendSnapshotExt(nil, 1, s)
	if !bytes.HasPrefix(ext[4:], plain[4:]) {
		t.Fatal("the ext STATUS does not start with the plain one")
	}
	// A later version's trailer with two more bytes.
	longer := append(ext[:len(ext):len(ext)], 0xAB, 0xCD)
	at := len(plain)
	binary.BigEndian.PutUint16(longer[at:], binary.BigEndian.Uint16(longer[at:])+2)
	binary.BigEndian.PutUint32(longer, uint32(len(longer)-4))
	if resp, err := DecodeResponse(longer[4:]); err != nil || resp.Snapshot.Divergence != s.Divergence {
		t.Fatalf("longer trailer: %+v %v", resp.Snapshot, err)
	}
	if _, err := DecodeResponse(ext[4 : len(ext)-1]); err == nil {
		t.Fatal("truncated trailer accepted")
	}
}
