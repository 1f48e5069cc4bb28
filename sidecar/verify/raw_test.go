package verify

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hasidecar/hasidecar/plugins"
	"github.com/hasidecar/hasidecar/plugins/raw"
)

// rawDir writes n bytes of a pattern as raw segments of segSize into a new directory.
func rawDir(t *testing.T, segSize int64, n int) string {
	t.Helper()
	dir := t.TempDir()
	w, err := raw.OpenWriter(dir, segSize)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(i*7 + 1)
	}
	if _, err := w.Append(p); err != nil {
		t.Fatal(err)
	}
	return dir
}

func rawLayout(t *testing.T, size int64) plugins.Layout {
	t.Helper()
	lay, err := raw.New(size)
	if err != nil {
		t.Fatal(err)
	}
	return lay
}

func TestRawSegmentSizeMismatchIsAnError(t *testing.T) {
	a := rawDir(t, seg, 3*seg+10)
	b := t.TempDir()
	copyDir(t, a, b)
	var se *SizeError
	_, err := Dirs(rawLayout(t, 4*seg), a, b, Options{})
	if !errors.As(err, &se) || !se.Misaligned || se.Got != seg || se.Want != 4*seg {
		t.Fatalf("64 KiB raw files under 256 KiB: %v", err)
	}
	_, err = Dirs(rawLayout(t, seg/2), a, b, Options{})
	if !errors.As(err, &se) || se.Misaligned || se.Got != seg || se.Want != seg/2 {
		t.Fatalf("64 KiB raw files under 32 KiB: %v", err)
	}
}

func TestRawShorterReplicaIsADifference(t *testing.T) {
	a := rawDir(t, seg, 3*seg+10)
	b := t.TempDir()
	copyDir(t, a, b)
	last := filepath.Join(b, plugins.OffsetName(3*seg))
	if err := os.Truncate(last, 4); err != nil {
		t.Fatal(err)
	}
	rep, err := Dirs(rawLayout(t, seg), a, b, Options{})
	if err != nil || rep.Equal() || rep.Diffs[0].Offset != 3*seg+4 || !strings.Contains(rep.Diffs[0].What, "file sizes 10 in") {
		t.Fatalf("raw replica 6 bytes short: %v %+v", err, rep)
	}
	copyDir(t, a, b)
	if rep, err := Dirs(rawLayout(t, seg), a, b, Options{Exact: true}); err != nil || !rep.Equal() || rep.Bytes != 3*seg+10 {
		t.Fatalf("identical raw directories: %v %+v", err, rep)
	}
}
