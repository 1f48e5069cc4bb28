package rocketmq

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"go.uber.org/zap/zaptest"

	"github.com/hasidecar/hasidecar/plugins"
)

const testSeg = 4096

func testLayout(t testing.TB, opts Options) *Layout {
	t.Helper()
	if opts.SegmentSize == 0 {
		opts.SegmentSize = testSeg
	}
	l, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return l
}

// testMsg returns a message whose body has n bytes derived from i.
func testMsg(i, n int) *Message {
	body := make([]byte, n)
	for j := range body {
		body[j] = byte(i + j*7)
	}
	return &Message{
		Topic: "TopicTest", QueueID: int32(i % 4), QueueOffset: int64(i), Body: body,
		Properties: fmt.Sprintf("KEYS\x01k%d\x02", i), BornTimestamp: 1700000000000 + int64(i),
		StoreTimestamp: 1700000000001 + int64(i),
	}
}

// buildRecords encodes msgs back to back from absolute offset start and
// returns the bytes and each record's start offset, plus the final end.
func buildRecords(start int64, msgs ...*Message) ([]byte, []int64) {
	var b []byte
	var offs []int64
	for _, m := range msgs {
		offs = append(offs, start+int64(len(b)))
		b = AppendRecord(b, m, start+int64(len(b)))
	}
	return b, append(offs, start+int64(len(b)))
}

// writeSegment writes data into a file of size bytes (zero-filled beyond
// data) named for start in dir and returns its path.
func writeSegment(t testing.TB, l *Layout, dir string, start int64, data []byte, size int64) string {
	t.Helper()
	p := filepath.Join(dir, l.SegmentName(start))
	buf := make([]byte, max(size, int64(len(data))))
	copy(buf, data)
	if err := os.WriteFile(p, buf, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func openTestWriter(t testing.TB, dir string, opts WriterOptions) *Writer {
	t.Helper()
	if opts.SegmentSize == 0 {
		opts.SegmentSize = testSeg
	}
	w, err := OpenWriter(zaptest.NewLogger(t), dir, opts)
	if err != nil {
		t.Fatalf("OpenWriter: %v", err)
	}
	t.Cleanup(func() { _ = w.Close() })
	return w
}

// scanAll scans every segment of dir from its start and checks the segments
// chain: each one but the last is Full and the next starts at its end.
func scanAll(t testing.TB, l *Layout, dir string) (starts []int64, scans []plugins.Scan) {
	t.Helper()
	starts, err := plugins.ListSegments(l, dir)
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range starts {
		sc, err := l.Scan(filepath.Join(dir, l.SegmentName(s)), s, s)
		if err != nil {
			t.Fatalf("Scan %d: %v", s, err)
		}
		if i < len(starts)-1 && (!sc.Full || starts[i+1] != sc.End) {
			t.Fatalf("segment %d: %+v, next segment starts at %d", s, sc, starts[i+1])
		}
		scans = append(scans, sc)
	}
	return starts, scans
}
