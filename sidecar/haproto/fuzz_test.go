package haproto

import (
	"bytes"
	"encoding/binary"
	"testing"
)

func FuzzParseHeader(f *testing.F) {
	f.Add(make([]byte, 12))
	f.Add([]byte{0, 0, 0, 0, 0x40, 0, 0, 0, 0, 0, 0x80, 0})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := ParseHeader(b, MaxBody)
		if err != nil {
			return
		}
		if h.Offset < 0 || h.Size < 0 || h.Size > MaxBody || h.Offset+int64(h.Size) < h.Offset {
			t.Fatalf("accepted bad header %+v", h)
		}
		var again [HeaderSize]byte
		PutHeader(again[:], h)
		if !bytes.Equal(again[:], b[:HeaderSize]) {
			t.Fatalf("re-encoding differs")
		}
	})
}

// FuzzReportReader checks that any cut of any stream yields the last whole
// report, exactly as one read of the whole stream would.
func FuzzReportReader(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2, 9}, uint8(3))
	f.Add([]byte{1, 2, 3}, uint8(1))
	f.Fuzz(func(t *testing.T, stream []byte, step uint8) {
		n := int(step%16) + 1
		var r ReportReader
		var last int64
		var seen bool
		for i := 0; i < len(stream); i += n {
			if l, ok := r.Feed(stream[i:min(i+n, len(stream))]); ok {
				last, seen = l, true
			}
		}
		whole := len(stream) / 8
		if seen != (whole > 0) {
			t.Fatalf("seen=%v with %d whole reports", seen, whole)
		}
		if whole > 0 {
			want := int64(binary.BigEndian.Uint64(stream[(whole-1)*8:]))
			if last != want {
				t.Fatalf("last %d want %d", last, want)
			}
		}
		if r.Pending() != len(stream)%8 {
			t.Fatalf("pending %d", r.Pending())
		}
	})
}

func FuzzHello(f *testing.F) {
	var buf bytes.Buffer
	WriteHello(&buf, Hello{Version: 1, End: 10})
	f.Add(buf.Bytes()[8:])
	f.Add([]byte{0, 0, 0, 2, '{', '}'})
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := ReadHelloBody(bytes.NewReader(b))
		if err == nil && (h.End < 0 || h.TailStart > h.End || h.End-h.TailStart > TailWindow) {
			t.Fatalf("accepted %+v", h)
		}
		if err == nil && (h.Lineage < 0 || h.Lineage > MaxLineage ||
			(h.LineageTailStart != 0 || h.LineageTailCRC != 0) && (h.LineageTailStart < 0 || h.LineageTailStart >= h.End || h.End-h.LineageTailStart >= LineageBlock)) {
			t.Fatalf("accepted lineage %+v", h)
		}
	})
}

// FuzzReport2Reader checks that whatever the stream, an accepted report
// obeys the rules and written and synced never go back.
func FuzzReport2Reader(f *testing.F) {
	f.Add(enc2(Report2{1, 2, 1}, Report2{2, 3, 3}), uint8(5))
	f.Add(enc2(Report2{0, 5, 6}), uint8(24))
	f.Fuzz(func(t *testing.T, stream []byte, step uint8) {
		n := int(step%32) + 1
		var r Report2Reader
		var prev Report2
		for i := 0; i < len(stream); i += n {
			l, ok, err := r.Feed(stream[i:min(i+n, len(stream))])
			if err != nil {
				return
			}
			if !ok {
				continue
			}
			if l.Acked < 0 || l.Synced < 0 || l.Synced > l.Written || l.Acked > l.Written || l.Written < prev.Written || l.Synced < prev.Synced {
				t.Fatalf("accepted %+v after %+v", l, prev)
			}
			prev = l
		}
	})
}
