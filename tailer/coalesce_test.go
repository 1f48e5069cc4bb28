package tailer

import (
	"bytes"
	"path/filepath"
	"testing"
	"time"

	"github.com/hasidecar/hasidecar/plugins"
)

// A write(2) appender raises an fsnotify Write event per write. The loop
// takes at most one step per PollMin for them: a steady appender costs what
// a mmap writer's poll costs, not one wake-up per write. Every byte is
// still published.
func TestWriteEventsCoalesced(t *testing.T) {
	dir := t.TempDir()
	l := &testLayout{size: 1 << 20}
	path := filepath.Join(dir, plugins.OffsetName(0))
	appendFile(t, path, []byte("first"))
	opts := Options{PollMin: 25 * time.Millisecond, PollMax: time.Hour, Settle: time.Hour, Rescan: time.Hour}
	tl := startTailer(t, dir, l, opts)
	waitState(t, tl, 5*time.Second, "first write published", func(s State) bool { return s.End == 5 })

	const writes = 100
	steps0 := tl.wakes.Load()
	start := time.Now()
	for i := range writes {
		appendFile(t, path, bytes.Repeat([]byte{byte(i)}, 100))
		time.Sleep(2 * time.Millisecond) // the appender's pace, not a wait for the tailer
	}
	end := int64(5 + writes*100)
	waitState(t, tl, 5*time.Second, "every write published", func(s State) bool { return s.End == end })
	steps, took := tl.wakes.Load()-steps0, time.Since(start)
	if most := int64(took/opts.PollMin) + 5; steps > most {
		t.Fatalf("%d writes over %v took %d steps; at one per PollMin (%v) at most %d", writes, took, steps, opts.PollMin, most)
	}
	t.Logf("%d writes over %v: %d steps", writes, took, steps)

}
