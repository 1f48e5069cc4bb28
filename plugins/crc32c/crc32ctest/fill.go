package crc32ctest

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/hasidecar/hasidecar/plugins/crc32c"
)

// FillSegment writes segment 0 of a crc32c directory at dir with records of
// payload bytes until the writer seals it, and returns its path. It is a test
// and benchmark helper, shared with the plugin host's tests.
func FillSegment(tb testing.TB, dir string, segSize int64, payload int) string {
	tb.Helper()
	w, err := crc32c.OpenWriter(nil, dir, segSize)
	if err != nil {
		tb.Fatal(err)
	}
	defer w.Close()
	rec := bytes.Repeat([]byte{0x5A}, payload)
	for w.End() < segSize {
		if _, err := w.Append(rec); err != nil {
			tb.Fatal(err)
		}
	}
	l, _ := crc32c.New(segSize)
	return filepath.Join(dir, l.SegmentName(0))
}
