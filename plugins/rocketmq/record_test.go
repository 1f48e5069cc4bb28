package rocketmq

import (
	"bytes"
	"errors"
	"hash/crc32"
	"strings"
	"testing"
)

func TestRecordSize(t *testing.T) {
	m := &Message{Topic: "t", Body: []byte("hello"), Properties: "ab"}
	if got := RecordSize(m); got != 91+5+1+2 {
		t.Fatalf("RecordSize = %d", got)
	}
	if got := RecordSize(&Message{}); got != MinRecordSize {
		t.Fatalf("RecordSize(empty) = %d", got)
	}
	long := &Message{Topic: strings.Repeat("x", 200)}
	if got := RecordSize(long); got != 92+200 {
		t.Fatalf("RecordSize(v2) = %d", got)
	}
	v6 := &Message{SysFlag: SysFlagBornHostV6 | SysFlagStoreHostV6}
	if got := RecordSize(v6); got != 91+24 {
		t.Fatalf("RecordSize(v6) = %d", got)
	}
}

func TestAppendRecordFields(t *testing.T) {
	m := testMsg(3, 100)
	prefix := []byte("prefix")
	b := AppendRecord(prefix, m, 12345)
	if !bytes.Equal(b[:6], prefix) {
		t.Fatal("prefix lost")
	}
	rec := b[6:]
	if len(rec) != RecordSize(m) || int(be.Uint32(rec)) != len(rec) {
		t.Fatalf("size %d, TOTALSIZE %d", len(rec), be.Uint32(rec))
	}
	if be.Uint32(rec[4:]) != MagicV1 || be.Uint64(rec[offPhys:]) != 12345 {
		t.Fatal("magic or physical offset")
	}
	if be.Uint32(rec[8:]) != crc32.ChecksumIEEE(m.Body)&0x7FFFFFFF {
		t.Fatal("body CRC")
	}
	if !bytes.Equal(rec[48:56], defaultBornHost[:]) || !bytes.Equal(rec[64:72], defaultStoreHost[:]) {
		t.Fatal("default hosts")
	}
	if !bytes.Equal(rec[88:188], m.Body) || rec[188] != byte(len(m.Topic)) {
		t.Fatal("body or topic length")
	}
	if !strings.HasSuffix(string(rec), m.Topic+"\x00"+string(rune(len(m.Properties)))+m.Properties) {
		t.Fatal("topic and properties at the end")
	}
}

// TestRecordsValidate checks that every encoder variant passes the decoder.
func TestRecordsValidate(t *testing.T) {
	l := testLayout(t, Options{SegmentSize: 1 << 20})
	for name, m := range map[string]*Message{
		"empty":   {},
		"v1":      testMsg(1, 10),
		"v2":      {Topic: strings.Repeat("T", 128), Body: []byte("b")},
		"max v1":  {Topic: strings.Repeat("T", 127)},
		"ipv6":    {Topic: "t", SysFlag: SysFlagBornHostV6 | SysFlagStoreHostV6, Body: []byte("x")},
		"born v6": {Topic: "t", SysFlag: SysFlagBornHostV6, BornHost: [8]byte{10, 0, 0, 1, 0, 0, 1, 2}},
		"props":   {Topic: "t", Properties: strings.Repeat("p", MaxPropertiesLen)},
	} {
		rec := AppendRecord(nil, m, 777)
		size, kind, _ := l.check(rec, 777, 1<<20)
		if kind != recMessage || size != int64(len(rec)) {
			t.Errorf("%s: check = %d, %v", name, size, kind)
		}
		if _, kind, _ := l.check(rec, 778, 1<<20); kind != recEnd {
			t.Errorf("%s: wrong physical offset accepted", name)
		}
		if _, kind, _ := l.check(rec, 777, int64(len(rec))-1); kind != recEnd {
			t.Errorf("%s: record longer than the segment's rest accepted", name)
		}
	}
}

func TestCheckMessage(t *testing.T) {
	if err := CheckMessage(testMsg(1, 10)); err != nil {
		t.Fatal(err)
	}
	for _, m := range []*Message{
		{Topic: strings.Repeat("t", MaxTopicLen+1)},
		{Properties: strings.Repeat("p", MaxPropertiesLen+1)},
	} {
		if err := CheckMessage(m); !errors.Is(err, ErrMessage) {
			t.Fatalf("CheckMessage: %v", err)
		}
	}
}

func TestPutBlank(t *testing.T) {
	b := make([]byte, 8)
	PutBlank(b, 1000)
	if be.Uint32(b) != 1000 || be.Uint32(b[4:]) != BlankMagicCode {
		t.Fatalf("blank % x", b)
	}
	l := testLayout(t, Options{})
	if size, kind, _ := l.check(b, 0, 1000); kind != recBlank || size != 1000 {
		t.Fatalf("blank check = %d, %v", size, kind)
	}
	if _, kind, _ := l.check(b, 0, 1001); kind != recEnd {
		t.Fatal("blank of the wrong size accepted")
	}
}
