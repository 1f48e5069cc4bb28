package haproto

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
)

// TestHelloNameBytes: the named hello is exactly the bytes doc.go shows,
// and a decoder that predates names (a struct without the field) accepts it.
func TestHelloNameBytes(t *testing.T) {
	var b bytes.Buffer
	h := Hello{Version: 1, Layout: LayoutInfo{Name: "rocketmq", SegmentSize: 1 << 30, Preallocated: true}, Name: "db-2"}
	if err := WriteHello(&b, h); err != nil {
		t.Fatal(err)
	}
	doc := `{"version":1,"layout":{"name":"rocketmq","segment_size":1073741824,"preallocated":true},"end":0,"tail_start":0,"tail_crc":0,"name":"db-2"}`
	want := append([]byte{0xff, 'H', 'A', 'S', 'I', 'D', 'E', '1', 0, 0, 0, 0x8a}, doc...)
	if !bytes.Equal(b.Bytes(), want) {
		t.Fatalf("hello bytes\n%q\nwant\n%q", b.Bytes(), want)
	}
	var old struct {
		Version int   `json:"version"`
		End     int64 `json:"end"`
	}
	if err := json.Unmarshal([]byte(doc), &old); err != nil || old.Version != 1 {
		t.Fatalf("an older decoder: %v %+v", err, old)
	}
	got, err := ReadHelloBody(bytes.NewReader(b.Bytes()[8:]))
	if err != nil || got.Name != "db-2" {
		t.Fatalf("ReadHelloBody = %+v, %v", got, err)
	}
}

func TestCheckName(t *testing.T) {
	for _, bad := range []string{"", "a b", "tab\there", "é", string(make([]byte, MaxName+1))} {
		if err := CheckName(bad); !errors.Is(err, ErrBadHello) {
			t.Errorf("CheckName(%q) = %v", bad, err)
		}
	}
	if err := CheckName("db-2.example_com:7"); err != nil {
		t.Errorf("CheckName = %v", err)
	}
}
