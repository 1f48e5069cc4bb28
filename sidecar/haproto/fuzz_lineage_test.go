package haproto

import (
	"bytes"
	"testing"
)

// FuzzReadLineage: whatever the bytes, accepted entries have bases >= 0
// and increasing, and re-encode to the bytes read.
func FuzzReadLineage(f *testing.F) {
	var w bytes.Buffer
	WriteLineage(&w, []SegLineage{{0, 1024, 1}, {1 << 30, 2, 3}})
	f.Add(w.Bytes(), uint16(2))
	f.Add(make([]byte, 31), uint16(2))
	f.Add([]byte{0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, uint16(1))
	f.Fuzz(func(t *testing.T, b []byte, n uint16) {
		ls, err := ReadLineage(bytes.NewReader(b), int(n))
		if err != nil {
			return
		}
		for i, l := range ls {
			if l.Base < 0 || (i > 0 && l.Base <= ls[i-1].Base) {
				t.Fatalf("accepted %+v", ls)
			}
		}
		var again bytes.Buffer
		WriteLineage(&again, ls)
		if !bytes.Equal(again.Bytes(), b[:len(ls)*SegLineageSize]) {
			t.Fatal("re-encoding differs")
		}
		crcs, err := ReadBlockCRCs(bytes.NewReader(b), int(n))
		if err == nil && len(crcs) > int(n) {
			t.Fatalf("%d CRCs over the max %d", len(crcs), n)
		}
	})
}

// FuzzReadDigestRequest: an accepted request obeys CheckDigestRequest's
// rules; nothing panics or allocates past the 4 KiB bound.
func FuzzReadDigestRequest(f *testing.F) {
	var w bytes.Buffer
	WriteDigestRequest(&w, DigestRequest{Op: OpDigests, From: 0, To: 1 << 20})
	f.Add(w.Bytes())
	f.Add([]byte{0, 0, 0, 2, '{', '}'})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		q, err := ReadDigestRequest(bytes.NewReader(b))
		if err != nil {
			return
		}
		if q.From < 0 || q.To < q.From || (q.Op == OpFetch && q.To-q.From > MaxFetch) ||
			(q.Op == OpDigests && q.To-q.From > MaxDigestSpan) || (q.Op != OpInfo && q.Op != OpDigests && q.Op != OpFetch) {
			t.Fatalf("accepted %+v", q)
		}
	})
}

// FuzzReadDigestReply: an accepted reply keeps within the reader's
// bounds, and its payload has the announced size.
func FuzzReadDigestReply(f *testing.F) {
	var w bytes.Buffer
	WriteDigestReply(&w, DigestReply{}, []uint32{1, 2, 3}, nil)
	f.Add(w.Bytes())
	w.Reset()
	WriteDigestReply(&w, DigestReply{Version: 1, End: 9, Segments: []DigestSegment{{0, 10, "a", 9}}}, nil, nil)
	f.Add(w.Bytes())
	w.Reset()
	WriteDigestReply(&w, DigestReply{}, nil, []byte("data"))
	f.Add(w.Bytes())
	f.Add([]byte{0, 0, 0, 12, '{', '"', 'd', 'a', 't', 'a', '"', ':', '9', '9', '9', '}'})
	f.Fuzz(func(t *testing.T, b []byte) {
		const maxCRCs, maxData = 4096, MaxFetch
		rep, crcs, data, err := ReadDigestReply(bytes.NewReader(b), maxCRCs, maxData)
		if err != nil {
			return
		}
		if len(crcs) != rep.CRCs || len(data) != rep.Data || rep.CRCs > maxCRCs || rep.Data > maxData {
			t.Fatalf("accepted %+v with %d CRCs and %d bytes", rep, len(crcs), len(data))
		}
		if (rep.Error != "") != (rep.Code != "") || (rep.Error != "" && (rep.CRCs > 0 || rep.Data > 0)) {
			t.Fatalf("accepted refusal %+v", rep)
		}
		if checkDigestSegments(rep.Segments) != nil {
			t.Fatalf("accepted segments %+v", rep.Segments)
		}
	})
}
