package haproto

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"
)

func TestDigestMagicBytes(t *testing.T) {
	var w bytes.Buffer
	WriteDigestOpen(&w)
	if w.String() != "\xffHASIDD1" || !IsDigestMagic(int64(binary.BigEndian.Uint64(w.Bytes()))) {
		t.Fatalf("magic % x", w.Bytes())
	}
	if DigestMagic == HelloMagic {
		t.Fatal("digest magic is the hello's")
	}
}

// TestDigestDocExample checks doc.go's digest example byte by byte.
func TestDigestDocExample(t *testing.T) {
	var w bytes.Buffer
	q := DigestRequest{Op: OpDigests, From: 1073741824, To: 1075843072}
	WriteDigestRequest(&w, q)
	if w.String() != "\x00\x00\x00\x32"+`{"op":"digests","from":1073741824,"to":1075843072}` {
		t.Fatalf("request %q", w.String())
	}
	if got, err := ReadDigestRequest(&w); err != nil || got != q {
		t.Fatalf("request back %+v %v", got, err)
	}
	crcs := []uint32{0x14298c12, 0x91a3b1e6, 0x98f94189}
	WriteDigestReply(&w, DigestReply{}, crcs, nil)
	if !bytes.Equal(w.Bytes(), unhex(t, "0000000a 7b2263726373223a337d 14298c12 91a3b1e6 98f94189")) {
		t.Fatalf("reply % x", w.Bytes())
	}
	rep, back, data, err := ReadDigestReply(&w, 3, 0)
	if err != nil || rep.CRCs != 3 || !equalU32(back, crcs) || data != nil {
		t.Fatalf("reply back %+v %x %v", rep, back, err)
	}
}

func equalU32(a, b []uint32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestDigestInfoAndFetchRoundTrip(t *testing.T) {
	var w bytes.Buffer
	info := DigestReply{Version: DigestVersion, Layout: docLayout, BlockSize: LineageBlock, End: 5000,
		Segments: []DigestSegment{{0, 4096, "a", 4096}, {4096, 4096, "b", 5000}}}
	WriteDigestReply(&w, info, nil, nil)
	data := []byte("some bytes")
	WriteDigestReply(&w, DigestReply{}, nil, data)
	WriteDigestReply(&w, DigestReply{Error: "beyond the end", Code: DigestCodeRange}, nil, nil)
	rep, _, _, err := ReadDigestReply(&w, 0, 0)
	if err != nil || rep.End != 5000 || len(rep.Segments) != 2 || rep.Segments[1].Name != "b" || rep.Layout != docLayout {
		t.Fatalf("info %+v %v", rep, err)
	}
	_, _, got, err := ReadDigestReply(&w, 0, 100)
	if err != nil || string(got) != "some bytes" {
		t.Fatalf("fetch %q %v", got, err)
	}
	rep, _, _, err = ReadDigestReply(&w, 0, 0)
	var de *DigestError
	if err != nil || !errors.As(rep.Err(), &de) || de.Code != DigestCodeRange {
		t.Fatalf("refusal %+v %v", rep, err)
	}
	if err := WriteDigestReply(&w, DigestReply{Error: "x", Code: "range"}, []uint32{1}, nil); !errors.Is(err, ErrBadDigest) {
		t.Fatalf("refusal with payload written: %v", err)
	}
}

func TestDigestRequestRejects(t *testing.T) {
	for _, q := range []DigestRequest{
		{Op: "delete"},
		{Op: OpDigests, From: -1, To: 0},
		{Op: OpDigests, From: 10, To: 5},
		{Op: OpDigests, From: 0, To: MaxDigestSpan + 1},
		{Op: OpFetch, From: 0, To: MaxFetch + 1},
	} {
		if err := CheckDigestRequest(q); !errors.Is(err, ErrBadDigest) {
			t.Errorf("%+v accepted", q)
		}
		var w bytes.Buffer
		writeLenDoc(&w, q, nil)
		if _, err := ReadDigestRequest(&w); !errors.Is(err, ErrBadDigest) {
			t.Errorf("%+v read: %v", q, err)
		}
	}
	big := append(unhex(t, "00001001"), make([]byte, 4097)...)
	if _, err := ReadDigestRequest(bytes.NewReader(big)); !errors.Is(err, ErrBadDigest) {
		t.Fatalf("oversized request: %v", err)
	}
	if _, err := ReadDigestRequest(bytes.NewReader(nil)); !errors.Is(err, io.EOF) {
		t.Fatalf("clean close is not EOF: %v", err)
	}
	if _, err := ReadDigestRequest(bytes.NewReader(append(unhex(t, "00000002"), "{x"...))); !errors.Is(err, ErrBadDigest) {
		t.Fatalf("bad json: %v", err)
	}
}

func TestDigestReplyRejects(t *testing.T) {
	for name, rep := range map[string]DigestReply{
		"too many crcs":  {CRCs: 5},
		"too much data":  {Data: 11},
		"negative":       {CRCs: -1},
		"error no code":  {Error: "x"},
		"code no error":  {Code: "range"},
		"refusal+crcs":   {Error: "x", Code: "range", CRCs: 1},
		"negative end":   {End: -1},
		"overlap":        {Segments: []DigestSegment{{0, 100, "a", 0}, {50, 100, "b", 50}}},
		"covered beyond": {Segments: []DigestSegment{{0, 100, "a", 101}}},
		"empty segment":  {Segments: []DigestSegment{{0, 0, "a", 0}}},
	} {
		var w bytes.Buffer
		writeLenDoc(&w, rep, nil)
		w.Write(make([]byte, 64))
		if _, _, _, err := ReadDigestReply(&w, 4, 10); !errors.Is(err, ErrBadDigest) {
			t.Errorf("%s accepted: %v", name, err)
		}
	}
}
