package tailer

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/hasidecar/hasidecar/plugins/raw"
	"github.com/hasidecar/hasidecar/plugins/rocketmq"
)

// TestRocketMQWriter tails the broker-like rocketmq writer (preallocated
// segments, mmap stores, blank records, retention) and checks that every
// published byte equals the file's bytes.
func TestRocketMQWriter(t *testing.T) {
	dir := t.TempDir()
	const size = 64 << 10
	w, err := rocketmq.OpenWriter(zaptest.NewLogger(t), dir, rocketmq.WriterOptions{SegmentSize: size, Retain: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	tl := startTailer(t, dir, w.Layout(), fastOpts)
	var end int64
	for i := range 1000 { // ~300 KiB: several rolls, retention deletes the oldest
		end, err = w.Append(&rocketmq.Message{Topic: "tailer", Body: payloadAt(i, 100+i%400)})
		if err != nil {
			t.Fatal(err)
		}
		if i%100 == 0 {
			tl.Hint(end)
		}
	}
	st := waitState(t, tl, 5*time.Second, "end reaches the writer", func(s State) bool { return s.End == end })
	if st.Segments > 3 || st.Oldest != end-end%size-int64(st.Segments-1)*size {
		t.Fatalf("state %+v", st)
	}
	for start := st.Oldest; start < st.End; start += size {
		file, err := os.ReadFile(filepath.Join(dir, w.Layout().SegmentName(start)))
		if err != nil {
			t.Fatal(err)
		}
		got := drain(t, tl, start, min(start+size, st.End), 32<<10)
		if !bytes.Equal(got, file[:len(got)]) {
			t.Fatalf("segment %d: published bytes differ from the file", start)
		}
	}
	for _, off := range []int64{st.Oldest, st.End} {
		if ok, err := tl.IsBoundary(off); !ok || err != nil {
			t.Errorf("IsBoundary(%d) = %t, %v", off, ok, err)
		}
	}
}

// TestRawAppendWriter tails write(2) appends to growing, non-preallocated
// files: the mapping follows the file size (remap) and fsnotify Write events
// wake the loop.
func TestRawAppendWriter(t *testing.T) {
	dir := t.TempDir()
	const size = 10000
	w, err := raw.OpenWriter(dir, size)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	l, err := raw.New(size)
	if err != nil {
		t.Fatal(err)
	}
	opts := fastOpts
	// No idle poll and no listing within the test: once the loop has backed
	// off after a step, fsnotify Write events must do the waking (taken at
	// most once per PollMin), or End never follows.
	opts.PollMin, opts.PollMax, opts.Rescan = time.Millisecond, time.Hour, time.Hour
	tl := startTailer(t, dir, l, opts)
	var want bytes.Buffer
	for i := range 300 {
		p := []byte(fmt.Sprintf("line %04d %s\n", i, bytes.Repeat([]byte{'x'}, i%50)))
		want.Write(p)
		end, err := w.Append(p)
		if err != nil {
			t.Fatal(err)
		}
		if i%30 == 0 {
			waitState(t, tl, 5*time.Second, "end follows appends", func(s State) bool { return s.End == end })
		}
	}
	end := w.End()
	waitState(t, tl, 5*time.Second, "end follows appends", func(s State) bool { return s.End == end })
	if got := drain(t, tl, 0, end, 4096); !bytes.Equal(got, want.Bytes()) {
		t.Fatal("drained bytes differ from the appends")
	}
}
