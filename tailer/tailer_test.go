package tailer

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestDirectoryMissingThenCreated(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "commitlog")
	l := &testLayout{size: 4096, prealloc: true}
	tl := startTailer(t, dir, l, fastOpts)
	if st := tl.State(); st.DirExists || st.Segments != 0 || st.End != 0 {
		t.Fatalf("state before the directory exists: %+v", st)
	}
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	waitState(t, tl, 5*time.Second, "directory seen", func(s State) bool { return s.DirExists })
	w := newMmapWriter(t, dir, l, 0)
	w.Append(payloadAt(0, 100))
	end := w.Append(payloadAt(1, 100))
	tl.Hint(end)
	st := waitState(t, tl, 5*time.Second, "end reaches the writer", func(s State) bool { return s.End == end })
	if st.Segments != 1 || st.Oldest != 0 || st.LiveStart != 0 {
		t.Fatalf("state %+v", st)
	}
}

func TestSegmentsRollOver(t *testing.T) {
	dir := t.TempDir()
	l := &testLayout{size: 4096, prealloc: true}
	w := newMmapWriter(t, dir, l, 0)
	tl := startTailer(t, dir, l, fastOpts)
	var want bytes.Buffer
	for i := range 100 { // ~25 KiB of records: 7 segments, with blank records
		p := payloadAt(i, 200+i)
		w.Append(p)
		want.Write(record(p))
	}
	end := w.Append(payloadAt(100, 10))
	st := waitState(t, tl, 5*time.Second, "end past the last full record", func(s State) bool { return s.End >= end-18 })
	if st.LiveStart != plugins_SegmentStart(l, end) || st.Oldest != 0 || st.Segments != int(st.LiveStart/l.size)+1 {
		t.Fatalf("state %+v, writer end %d", st, end)
	}
	got := drain(t, tl, 0, st.End, 1000)
	if !bytes.Equal(stripBlanks(t, got, l.size), want.Bytes()) {
		t.Fatalf("drained bytes differ from the records written")
	}
}

func plugins_SegmentStart(l *testLayout, off int64) int64 { return off - off%l.size }

// stripBlanks removes each segment's blank tail so the records can be
// compared with what was appended.
func stripBlanks(t *testing.T, data []byte, size int64) []byte {
	var out []byte
	for pos := int64(0); pos < int64(len(data)); {
		total := int64(uint32(data[pos])<<24 | uint32(data[pos+1])<<16 | uint32(data[pos+2])<<8 | uint32(data[pos+3]))
		if total == 0 {
			pos = (pos/size + 1) * size
			continue
		}
		if total == size-pos%size && bytes.Equal(data[pos+4:pos+8], []byte{0xCB, 0xD4, 0x31, 0x94}) {
			pos += total
			continue
		}
		out = append(out, data[pos:min(pos+total, int64(len(data)))]...)
		pos += total
	}
	return out
}
