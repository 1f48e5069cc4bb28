package haproto

import (
	"bytes"
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"testing"
)

var docLayout = LayoutInfo{Name: "rocketmq", SegmentSize: 1 << 30, Preallocated: true}

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestLineageDocExample checks the bytes of doc.go's lineage example.
func TestLineageDocExample(t *testing.T) {
	var w bytes.Buffer
	h := Hello{Version: 1, Layout: docLayout, End: 1075843072, TailStart: 1075838976, TailCRC: 0x98f94189, Name: "db-2",
		Lineage: 2, LineageOK: true, LineageTailStart: 1075838976, LineageTailCRC: 0x98f94189}
	WriteHello(&w, h)
	if !bytes.Equal(w.Bytes()[:12], unhex(t, "ff484153 49444531 00000101")) {
		t.Fatalf("hello head % x", w.Bytes()[:12])
	}
	want := `{"version":1,"layout":{"name":"rocketmq","segment_size":1073741824,"preallocated":true},` +
		`"end":1075843072,"tail_start":1075838976,"tail_crc":2566472073,"name":"db-2",` +
		`"lineage":2,"lineage_ok":true,"lineage_tail_start":1075838976,"lineage_tail_crc":2566472073}`
	if string(w.Bytes()[12:]) != want {
		t.Fatalf("hello %s", w.Bytes()[12:])
	}
	got, err := ReadHelloBody(bytes.NewReader(w.Bytes()[8:]))
	if err != nil || got != h {
		t.Fatalf("read back %+v %v", got, err)
	}
	w.Reset()
	WriteHelloReply(&w, HelloReply{Version: 1, Layout: docLayout, LineageWanted: true})
	if w.Len() != 12+0x67 || !strings.HasSuffix(w.String(), `,"lineage":true}`) {
		t.Fatalf("first reply %d %s", w.Len(), w.Bytes()[12:])
	}
	w.Reset()
	ls := []SegLineage{{0, 1024, 0xbb0ce855}, {1073741824, 2, 0x88bfec21}}
	WriteLineage(&w, ls)
	if !bytes.Equal(w.Bytes(), unhex(t, "0000000000000000 00000400 bb0ce855 0000000040000000 00000002 88bfec21")) {
		t.Fatalf("entries % x", w.Bytes())
	}
	back, err := ReadLineage(&w, 2)
	if err != nil || len(back) != 2 || back[0] != ls[0] || back[1] != ls[1] {
		t.Fatalf("entries back %+v %v", back, err)
	}
	of := int64(1073741824)
	w.Reset()
	WriteHelloReply(&w, HelloReply{Version: 1, Layout: docLayout, LineageOf: &of})
	if w.Len() != 12+112 || !strings.HasSuffix(w.String(), `,"lineage_of":1073741824}`) {
		t.Fatalf("lineage_of reply %d %s", w.Len(), w.Bytes()[12:])
	}
	w.Reset()
	WriteBlockCRCs(&w, []uint32{0x14298c12, 0x91a3b1e6})
	if !bytes.Equal(w.Bytes(), unhex(t, "00000002 14298c12 91a3b1e6")) {
		t.Fatalf("crcs % x", w.Bytes())
	}
	common := int64(1074790400)
	w.Reset()
	WriteHelloReply(&w, HelloReply{Version: 1, Layout: docLayout, Error: "diverged at 1074790400", Code: CodeDiverged, Common: &common})
	rep, err := ReadHelloReply(&w)
	if err != nil || rep.Common == nil || *rep.Common != common || rep.Code != CodeDiverged {
		t.Fatalf("final %+v %v", rep, err)
	}
}

// TestHelloWithoutLineageUnchanged: a hello or reply without lineage
// carries none of the new fields, so older peers see the same bytes.
func TestHelloWithoutLineageUnchanged(t *testing.T) {
	var w bytes.Buffer
	WriteHello(&w, Hello{Version: 1, End: 10, TailStart: 0})
	WriteHelloReply(&w, HelloReply{Version: 1})
	if s := w.String(); strings.Contains(s, "lineage") || strings.Contains(s, "common") {
		t.Fatalf("lineage fields on a plain hello: %s", s)
	}
}

func TestHelloLineageRejects(t *testing.T) {
	for _, h := range []Hello{
		{Version: 1, End: 10, Lineage: -1},
		{Version: 1, End: 10, Lineage: MaxLineage + 1},
		{Version: 1, End: 10, LineageTailStart: 10, LineageTailCRC: 1},      // tail starts at end
		{Version: 1, End: 10, LineageTailStart: 11},                         // above end
		{Version: 1, End: 2 << 20, TailStart: 2<<20 - 1, LineageTailCRC: 5}, // tail of a whole MiB and more
		{Version: 1, End: 10, LineageTailStart: -1},
	} {
		var w bytes.Buffer
		WriteHello(&w, h)
		if _, err := ReadHelloBody(bytes.NewReader(w.Bytes()[8:])); !errors.Is(err, ErrBadHello) {
			t.Errorf("%+v accepted: %v", h, err)
		}
	}
}

func TestReadLineageRejects(t *testing.T) {
	var w bytes.Buffer
	WriteLineage(&w, []SegLineage{{10, 1, 1}, {10, 1, 1}})
	if _, err := ReadLineage(bytes.NewReader(w.Bytes()), 2); !errors.Is(err, ErrBadHello) {
		t.Fatalf("equal bases: %v", err)
	}
	w.Reset()
	WriteLineage(&w, []SegLineage{{-5, 1, 1}})
	if _, err := ReadLineage(bytes.NewReader(w.Bytes()), 1); !errors.Is(err, ErrBadHello) {
		t.Fatalf("negative base: %v", err)
	}
	if _, err := ReadLineage(bytes.NewReader(nil), MaxLineage+1); !errors.Is(err, ErrBadHello) {
		t.Fatalf("too many: %v", err)
	}
	if _, err := ReadLineage(bytes.NewReader(make([]byte, 20)), 2); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("short: %v", err)
	}
	if _, err := ReadBlockCRCs(bytes.NewReader(unhex(t, "00000005 00000001")), 4); !errors.Is(err, ErrBadHello) {
		t.Fatalf("over max: %v", err)
	}
	if _, err := ReadBlockCRCs(bytes.NewReader(unhex(t, "00000002 00000001")), 4); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("short crcs: %v", err)
	}
}

// TestReadBoundedAllocates: a count announcing far more than is sent
// allocates about what arrived, not what was announced.
func TestReadBoundedAllocates(t *testing.T) {
	head := unhex(t, "00ffffff")
	allocs := testing.AllocsPerRun(5, func() {
		ReadBlockCRCs(bytes.NewReader(append(head, 1, 2, 3, 4)), 1<<24)
	})
	if allocs > 10 {
		t.Fatalf("%v allocations", allocs)
	}
	var ms1, ms2 runtimeMem
	ms1.read()
	for range 10 {
		ReadBlockCRCs(bytes.NewReader(append(head, 1, 2, 3, 4)), 1<<24)
	}
	ms2.read()
	if per := (ms2.total - ms1.total) / 10; per > 2*readChunk {
		t.Fatalf("%d bytes allocated per hostile read", per)
	}
}

func TestFindLineageAndCheckCommon(t *testing.T) {
	ls := []SegLineage{{0, 1, 1}, {100, 2, 2}, {200, 3, 3}}
	if l, ok := FindLineage(ls, 100); !ok || l.Blocks != 2 {
		t.Fatalf("find 100: %+v %v", l, ok)
	}
	if _, ok := FindLineage(ls, 150); ok {
		t.Fatal("found 150")
	}
	if _, ok := FindLineage(nil, 0); ok {
		t.Fatal("found in nil")
	}
	c := func(v int64) *int64 { return &v }
	for _, tc := range []struct {
		rep HelloReply
		ok  bool
	}{
		{HelloReply{}, true},
		{HelloReply{Code: CodeDiverged, Common: c(0)}, true},
		{HelloReply{Code: CodeDiverged, Common: c(500)}, true},
		{HelloReply{Code: CodeDiverged, Common: c(501)}, false},
		{HelloReply{Code: CodeDiverged, Common: c(-1)}, false},
		{HelloReply{Common: c(5)}, false},
	} {
		if err := CheckCommon(tc.rep, 500); (err == nil) != tc.ok {
			t.Errorf("%+v: %v", tc.rep, err)
		}
	}
}
