package ack

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

func FuzzDecodeRequest(f *testing.F) {
	f.Add(AppendWait(nil, 1, 4096, 5*time.Second))
	f.Add(AppendQuery(nil, 2))
	f.Add(AppendWritten(nil, 3, 1<<40))
	f.Add(AppendWait(nil, 4, -1, 0))
	f.Add([]byte{0, 0, 0, 5, 0x42, 0, 0, 0, 1})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff})
	f.Add(append(AppendQuery(nil, 9), AppendWait(nil, 10, 7, time.Millisecond)...))
	f.Fuzz(func(t *testing.T, b []byte) {
		r := bytes.NewReader(b)
		for {
			body, err := ReadFrame(r, nil, MaxRequest)
			if err != nil {
				return
			}
			req, err := DecodeRequest(body)
			var rerr *RequestError
			if err != nil {
				if !errors.As(err, &rerr) || !errors.Is(err, ErrBadRequest) {
					t.Fatalf("error %v is not a RequestError", err)
				}
				continue
			}
			if req.Offset < 0 || req.Offset > MaxOffset {
				t.Fatalf("accepted offset %d", req.Offset)
			}
			// Re-encoding a valid request yields the same bytes.
			var again []byte
			switch req.Type {
			case TypeWait:
				again = AppendWait(nil, req.ID, req.Offset, req.Timeout)
			case TypeQuery:
				again = AppendQuery(nil, req.ID)
			case TypeQueryExt:
				again = AppendQueryExt(nil, req.ID)
			case TypeWritten:
				again = AppendWritten(nil, req.ID, req.Offset)
			}
			if !bytes.Equal(again[4:], body) {
				t.Fatalf("round trip %x != %x", again[4:], body)
			}
		}
	})
}

func FuzzDecodeResponse(f *testing.F) {
	f.Add(AppendResult(nil, 1, Result{Status: OK, Acked: 10})[4:])
	f.Add(AppendResult(nil, 2, Result{Status: NotAvailable, Acked: -1, Reason: "no slave"})[4:])
	f.Add(AppendError(nil, 3, CodeFrame, "too long")[4:])
	f.Add(AppendSnapshot(nil, 4, Snapshot{MasterEnd: 9, Policy: Policy{Kind: Quorum, N: 2},
		Slaves: []ReplicaStatus{{ID: "a", Addr: "b", ConnectedAt: time.UnixMilli(5)}}})[4:])
	f.Add([]byte{0x84, 0, 0, 0, 1, 0xff, 0xff})
	f.Add(AppendSnapshotExt(nil, 5, Snapshot{Policy: Policy{Kind: Any}, Divergence: Divergence{Active: true, At: 7,
		Reason: "rewritten", Since: time.UnixMilli(9)}})[4:])
	f.Add(AppendSnapshotExt(nil, 6, Snapshot{Policy: Policy{Kind: Any}, Slaves: []ReplicaStatus{{ID: "a", Addr: "b",
		Reports: 2, SlaveWritten: 9, SlaveSynced: 4, WriteLag: -1, FlushLag: time.Second}}})[4:])
	f.Fuzz(func(t *testing.T, b []byte) {
		resp, err := DecodeResponse(b)
		if err != nil {
			if !errors.Is(err, ErrBadFrame) && !errors.Is(err, ErrBadPolicy) {
				t.Fatalf("error %v", err)
			}
			return
		}
		if resp.Type == TypeStatus && len(resp.Snapshot.Slaves) > len(b) {
			t.Fatalf("%d slaves from %d bytes", len(resp.Snapshot.Slaves), len(b))
		}
	})
}
