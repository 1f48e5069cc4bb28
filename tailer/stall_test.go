package tailer

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/hasidecar/hasidecar/plugins/rocketmq"
)

// TestStallOnForeignRecord: after valid records comes one the layout cannot
// validate (a fork's magic code). The tail stops at the last valid record,
// says so in its State and in one ERROR line naming the reason, and moves
// on once the record is fixed.
func TestStallOnForeignRecord(t *testing.T) {
	dir := t.TempDir()
	const size = 1 << 20
	w, err := rocketmq.OpenWriter(nil, dir, rocketmq.WriterOptions{SegmentSize: size})
	if err != nil {
		t.Fatal(err)
	}
	var end int64
	for i := range 10 {
		if end, err = w.Append(&rocketmq.Message{Topic: "t", Body: payloadAt(i, 100)}); err != nil {
			t.Fatal(err)
		}
	}
	lay := w.Layout()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, lay.SegmentName(0))
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rec := rocketmq.AppendRecord(nil, &rocketmq.Message{Topic: "t", Body: payloadAt(99, 100)}, end)
	good := binary.BigEndian.Uint32(rec[4:])
	binary.BigEndian.PutUint32(rec[4:], 0xDAA320B7) // the Go fork's magic
	if _, err := f.WriteAt(rec, end); err != nil {
		t.Fatal(err)
	}

	core, logs := observer.New(zapcore.ErrorLevel)
	tl := startTailerLog(t, zap.New(core), dir, lay, fastOpts)
	st := waitState(t, tl, 10*time.Second, "stalled", func(s State) bool { return s.Stalled.Active })
	if st.End != end || st.Stalled.Offset != end || !strings.Contains(st.Stalled.Reason, "magic") {
		t.Fatalf("state %+v: want stalled at %d for an unknown magic", st, end)
	}
	waitLog(t, logs, "tail stalled")

	binary.BigEndian.PutUint32(rec[4:], good)
	if _, err := f.WriteAt(rec, end); err != nil {
		t.Fatal(err)
	}
	tl.Hint(end + int64(len(rec)))
	waitState(t, tl, 10*time.Second, "moving again", func(s State) bool {
		return s.End == end+int64(len(rec)) && !s.Stalled.Active
	})
}
