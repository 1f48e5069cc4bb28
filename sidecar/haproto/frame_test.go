package haproto

import (
	"bytes"
	"encoding/binary"
	"errors"
	"reflect"
	"testing"

	"github.com/hasidecar/hasidecar/plugins"
)

func TestHeaderRoundTrip(t *testing.T) {
	var b [HeaderSize]byte
	for _, h := range []Header{{0, 0}, {1 << 30, 32 << 10}, {123456789, MaxBody}} {
		PutHeader(b[:], h)
		got, err := ParseHeader(b[:], MaxBody)
		if err != nil || got != h {
			t.Fatalf("round trip %+v: got %+v, %v", h, got, err)
		}
	}
}

func TestParseHeaderRejects(t *testing.T) {
	cases := []Header{{-1, 0}, {0, -5}, {0, MaxBody + 1}, {1<<63 - 10, 100}}
	var b [HeaderSize]byte
	for _, h := range cases {
		PutHeader(b[:], h)
		if _, err := ParseHeader(b[:], MaxBody); !errors.Is(err, ErrBadFrame) {
			t.Errorf("ParseHeader(%+v) = %v, want ErrBadFrame", h, err)
		}
	}
	if _, err := ParseHeader(b[:5], MaxBody); !errors.Is(err, ErrBadFrame) {
		t.Errorf("short header accepted: %v", err)
	}
}

func reports(offs ...int64) []byte {
	b := make([]byte, 0, len(offs)*8)
	for _, o := range offs {
		b = binary.BigEndian.AppendUint64(b, uint64(o))
	}
	return b
}

func TestReportReaderSplitAndCoalesced(t *testing.T) {
	stream := reports(10, 20, 30, 40)
	// Every way of cutting the stream in two yields the same last report.
	for cut := 0; cut <= len(stream); cut++ {
		var r ReportReader
		last1, ok1 := r.Feed(stream[:cut])
		last2, ok2 := r.Feed(stream[cut:])
		if cut == len(stream) {
			last2, ok2 = last1, ok1
		}
		if !ok2 || last2 != 40 {
			t.Fatalf("cut %d: second feed = %d %v", cut, last2, ok2)
		}
		if want := cut >= 8; ok1 != want {
			t.Fatalf("cut %d: first feed ok = %v (last %d)", cut, ok1, last1)
		}
		if r.Pending() != 0 {
			t.Fatalf("cut %d: pending %d", cut, r.Pending())
		}
	}
	// Byte by byte.
	var r ReportReader
	for i, c := range stream {
		last, ok := r.Feed([]byte{c})
		if ok != ((i+1)%8 == 0) || (ok && last != int64((i+1)/8*10)) {
			t.Fatalf("byte %d: %d %v", i, last, ok)
		}
	}
}

func TestHelloRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	h := Hello{Version: Version, Layout: FromInfo(plugins.Info{Name: "rocketmq", SegmentSize: 64 << 20, Preallocated: true}), End: 5000, TailStart: 4000, TailCRC: 7}
	if err := WriteHello(&buf, h); err != nil {
		t.Fatal(err)
	}
	var magic [8]byte
	buf.Read(magic[:])
	if int64(binary.BigEndian.Uint64(magic[:])) != HelloMagic || string(magic[1:]) != "HASIDE1" {
		t.Fatalf("magic %q", magic)
	}
	got, err := ReadHelloBody(&buf)
	if err != nil || got != h {
		t.Fatalf("hello = %+v, %v", got, err)
	}
	rep := HelloReply{Version: Version, Layout: h.Layout, Error: "no"}
	if err := WriteHelloReply(&buf, rep); err != nil {
		t.Fatal(err)
	}
	gotRep, err := ReadHelloReply(&buf)
	if err != nil || !reflect.DeepEqual(gotRep, rep) {
		t.Fatalf("reply = %+v, %v", gotRep, err)
	}
}

func TestHelloRejects(t *testing.T) {
	big := binary.BigEndian.AppendUint32(nil, MaxHello+1)
	if _, err := ReadHelloBody(bytes.NewReader(big)); !errors.Is(err, ErrBadHello) {
		t.Errorf("oversize hello: %v", err)
	}
	junk := append(binary.BigEndian.AppendUint32(nil, 3), "{{{"...)
	if _, err := ReadHelloBody(bytes.NewReader(junk)); !errors.Is(err, ErrBadHello) {
		t.Errorf("junk hello: %v", err)
	}
	var wide bytes.Buffer
	WriteHello(&wide, Hello{Version: Version, End: 1 << 30, TailStart: 0})
	if _, err := ReadHelloBody(bytes.NewReader(wide.Bytes()[8:])); !errors.Is(err, ErrBadHello) {
		t.Errorf("a tail digest over the whole directory accepted: %v", err)
	}
	frame := make([]byte, HeaderSize)
	PutHeader(frame, Header{Offset: 0, Size: 0})
	if _, err := ReadHelloReply(bytes.NewReader(frame)); !errors.Is(err, ErrBadHello) {
		t.Errorf("data frame as reply: %v", err)
	}
}
