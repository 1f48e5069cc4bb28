package haproto

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
)

func enc2(rs ...Report2) []byte {
	var out []byte
	for _, r := range rs {
		var b [Report2Size]byte
		PutReport2(b[:], r)
		out = append(out, b[:]...)
	}
	return out
}

func TestReport2Bytes(t *testing.T) {
	// The example in doc.go, byte by byte.
	want := []byte{0, 0, 0, 0, 0, 0, 0x20, 0, 0, 0, 0, 0, 0, 0, 0x20, 0, 0, 0, 0, 0, 0, 0, 0x10, 0}
	if got := enc2(Report2{Acked: 8192, Written: 8192, Synced: 4096}); !bytes.Equal(got, want) {
		t.Fatalf("encoded % x, want % x", got, want)
	}
	r, err := ParseReport2(want)
	if err != nil || r != (Report2{8192, 8192, 4096}) {
		t.Fatalf("parse: %+v %v", r, err)
	}
}

func TestParseReport2Rejects(t *testing.T) {
	for _, r := range []Report2{{-1, 0, 0}, {0, -1, 0}, {0, 0, -1}, {0, 10, 11}, {11, 10, 0}} {
		if _, err := ParseReport2(enc2(r)); !errors.Is(err, ErrBadReport) {
			t.Errorf("%+v: err %v, want ErrBadReport", r, err)
		}
	}
	if _, err := ParseReport2(make([]byte, Report2Size-1)); !errors.Is(err, ErrBadReport) {
		t.Errorf("short report: err %v", err)
	}
}

func TestReport2ReaderSplitsAndOrder(t *testing.T) {
	stream := enc2(Report2{0, 10, 0}, Report2{10, 20, 10}, Report2{5, 30, 30})
	var r Report2Reader
	var last Report2
	for i := 0; i < len(stream); i += 7 {
		l, ok, err := r.Feed(stream[i:min(i+7, len(stream))])
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			last = l
		}
	}
	if last != (Report2{5, 30, 30}) || r.n != 0 {
		t.Fatalf("last %+v pending %d", last, r.n)
	}
	// written going back is refused, even inside one read.
	var r2 Report2Reader
	if _, _, err := r2.Feed(enc2(Report2{0, 20, 10}, Report2{0, 19, 10}, Report2{0, 40, 10})); !errors.Is(err, ErrBadReport) {
		t.Fatalf("written going back: err %v", err)
	}
	var r3 Report2Reader
	if _, _, err := r3.Feed(enc2(Report2{0, 20, 10})); err != nil {
		t.Fatal(err)
	}
	if _, _, err := r3.Feed(enc2(Report2{0, 20, 9})); !errors.Is(err, ErrBadReport) {
		t.Fatalf("synced going back across reads: err %v", err)
	}
}

func TestReportsNegotiation(t *testing.T) {
	if PickReports(0) != 0 || PickReports(1) != 0 || PickReports(2) != Reports2 || PickReports(7) != Reports2 {
		t.Fatal("PickReports")
	}
	for _, c := range []struct {
		asked, picked, want int
		bad                 bool
	}{{2, 0, ReportsClassic, false}, {2, 1, ReportsClassic, false}, {2, 2, Reports2, false}, {0, 2, 0, true}, {2, 3, 0, true}, {2, -1, 0, true}} {
		got, err := AgreeReports(c.asked, HelloReply{Reports: c.picked})
		if c.bad != errors.Is(err, ErrBadHello) || (!c.bad && got != c.want) {
			t.Errorf("asked %d picked %d: %d %v", c.asked, c.picked, got, err)
		}
	}
	// An older peer decodes the field away; a newer one reads its absence as 0.
	doc, _ := json.Marshal(Hello{Version: Version, Reports: Reports2})
	if !bytes.Contains(doc, []byte(`"reports":2`)) {
		t.Fatalf("hello JSON %s lacks reports", doc)
	}
	doc, _ = json.Marshal(HelloReply{Version: Version})
	if bytes.Contains(doc, []byte(`reports`)) {
		t.Fatalf("classic reply JSON %s carries reports", doc)
	}
}
