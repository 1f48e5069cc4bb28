package ack

import (
	"encoding/binary"
	"strings"
	"testing"
	"time"
)

// TestStatusStatesRoundTrip: QUERY_EXT's STATUS carries the master's state
// and each slave's name, state and reason; QUERY's does not.
func TestStatusStatesRoundTrip(t *testing.T) {
	snap := Snapshot{MasterEnd: 100, Committed: 90, Policy: Policy{Kind: All}, MasterState: "stalled", MasterReason: "bad magic",
		Slaves: []ReplicaStatus{
			{ID: "a#1", Addr: "127.0.0.1:1", Name: "alpha", State: "streaming", ConnectedAt: time.UnixMilli(5)},
			{ID: "b#2", Addr: "127.0.0.1:2", Name: "beta", State: "stalled", Reason: "no acknowledgement progress", ConnectedAt: time.UnixMilli(6)},
		}}
	got := decodeFrame(t, AppendSnapshotExt(nil, 7, snap)).Snapshot
	if got.MasterState != "stalled" || got.MasterReason != "bad magic" || len(got.Slaves) != 2 ||
		got.Slaves[0].Name != "alpha" || got.Slaves[1].State != "stalled" || got.Slaves[1].Reason != "no acknowledgement progress" {
		t.Fatalf("decoded %+v", got)
	}
	old := decodeFrame(t, AppendSnapshot(nil, 8, snap)).Snapshot
	if old.MasterState != "" || old.Slaves[0].Name != "" {
		t.Fatalf("QUERY's STATUS carries states: %+v", old)
	}
}

// TestStatusTrailerWithoutStates: a trailer from a server that predates
// states (divergence only) still decodes, states empty.
func TestStatusTrailerWithoutStates(t *testing.T) {
	snap := Snapshot{Policy: Policy{Kind: Any}, Slaves: []ReplicaStatus{{ID: "a", Addr: "x"}}}
	b := AppendSnapshot(nil, 1, snap)
	trailer := []byte{0, 0, 0}
	trailer = append(trailer, make([]byte, 16)...)      // diverged, at, since
	trailer = append(trailer, 0, 4, 'w', 'h', 'y', '!') // reason
	binary.BigEndian.PutUint16(trailer, uint16(len(trailer)-2))
	b = append(b, trailer...)
	binary.BigEndian.PutUint32(b, uint32(len(b)-4))
	got := decodeFrame(t, b).Snapshot
	if got.Divergence.Reason != "why!" || got.MasterState != "" || got.Slaves[0].State != "" {
		t.Fatalf("decoded %+v", got)
	}
}

// TestStatusStatesBounded: many slaves with long reasons still make a
// valid trailer; the states that do not fit are left out, never garbled.
func TestStatusStatesBounded(t *testing.T) {
	snap := Snapshot{Policy: Policy{Kind: Any}}
	for i := range 1000 {
		snap.Slaves = append(snap.Slaves, ReplicaStatus{ID: strings.Repeat("i", 200) + string(rune('a'+i%26)), Addr: "a",
			Name: strings.Repeat("n", 300), State: "stalled", Reason: strings.Repeat("r", 2000)})
	}
	got := decodeFrame(t, AppendSnapshotExt(nil, 1, snap)).Snapshot
	withState := 0
	for _, sl := range got.Slaves {
		if sl.State != "" {
			withState++
		}
	}
	if withState == 0 || withState == len(got.Slaves) {
		t.Fatalf("%d of %d slaves with a state: want some, not all", withState, len(got.Slaves))
	}
}

func decodeFrame(t *testing.T, b []byte) Response {
	t.Helper()
	if n := binary.BigEndian.Uint32(b); int(n) != len(b)-4 {
		t.Fatalf("frame length %d for %d bytes", n, len(b)-4)
	}
	r, err := DecodeResponse(b[4:])
	if err != nil {
		t.Fatal(err)
	}
	return r
}
