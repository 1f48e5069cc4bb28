package plugins_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/hasidecar/hasidecar/plugins"
	"github.com/hasidecar/hasidecar/plugins/raw"
	"github.com/hasidecar/hasidecar/plugins/rocketmq"
)

const seg = 64 << 10

// segFiles creates sparse segment files of size bytes at starts in dir.
func segFiles(t *testing.T, dir string, size int64, starts ...int64) {
	t.Helper()
	for _, s := range starts {
		f, err := os.Create(filepath.Join(dir, plugins.OffsetName(s)))
		if err != nil {
			t.Fatal(err)
		}
		if err := f.Truncate(size); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
}

func TestDetectSegmentSize(t *testing.T) {
	lay, err := rocketmq.New(rocketmq.Options{})
	if err != nil {
		t.Fatal(err)
	}
	a, b, empty := t.TempDir(), t.TempDir(), t.TempDir()
	segFiles(t, a, seg, 0, seg)
	segFiles(t, b, seg, 0)
	if got, err := plugins.DetectSegmentSize(lay, a, b, empty); err != nil || got != seg {
		t.Fatalf("detected %d, %v; want %d", got, err, seg)
	}
	if got, err := plugins.DetectSegmentSize(lay, empty); err != nil || got != 0 {
		t.Fatalf("no segments: detected %d, %v; want 0, nil", got, err)
	}
	odd := filepath.Join(b, plugins.OffsetName(0))
	if err := os.Truncate(odd, seg/2); err != nil {
		t.Fatal(err)
	}
	_, err = plugins.DetectSegmentSize(lay, a, b)
	var se *plugins.SegmentSizeError
	if !errors.As(err, &se) || se.Path != odd || se.Got != seg/2 || se.Want != seg || se.Other == "" ||
		!errors.Is(err, plugins.ErrSegmentSize) {
		t.Fatalf("disagreeing files: %v", err)
	}
	if _, err := plugins.DetectSegmentSize(lay, filepath.Join(a, "gone")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing directory: %v", err)
	}
}

func TestDetectSegmentSizeGrowingLayout(t *testing.T) {
	lay, err := raw.New(seg)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	segFiles(t, dir, 100, 0)
	if got, err := plugins.DetectSegmentSize(lay, dir); got != 0 || err != nil {
		t.Fatalf("growing layout: detected %d, %v", got, err)
	}
}
