package rocketmq

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/hasidecar/hasidecar/plugins"
)

// TestScanMappedMatchesScan checks that ScanMapped over a file's bytes
// returns what Scan of the file returns, from every record boundary: a
// writer's directory (sealed and live segments), corrupt records and
// truncated files.
func TestScanMappedMatchesScan(t *testing.T) {
	l := testLayout(t, Options{})
	dir := t.TempDir()
	w := openTestWriter(t, dir, WriterOptions{})
	for i := 0; w.End() < 2*testSeg+1000; i++ {
		if _, err := w.Append(testMsg(i, 50+(i*37)%400)); err != nil {
			t.Fatal(err)
		}
	}
	starts, _ := scanAll(t, w.Layout(), dir)
	for _, s := range starts {
		sameScans(t, w.Layout(), filepath.Join(dir, w.Layout().SegmentName(s)), s)
	}
	mutations := []func(d []byte, r []int64){
		func(d []byte, r []int64) { d[r[2]+100]++ },
		func(d []byte, r []int64) { be.PutUint32(d[r[2]:], uint32(r[3]-r[2]+1)) },
		func(d []byte, r []int64) { be.PutUint32(d[r[2]+4:], 0xAABBCCDD) },
		func(d []byte, r []int64) { PutBlank(d[r[2]:], int(r[3]-r[2])) },
	}
	for _, m := range mutations {
		path, _ := fiveRecords(t, 3*testSeg, m)
		sameScans(t, l, path, 3*testSeg)
	}
	path, offs := fiveRecords(t, 0, nil)
	for _, size := range []int64{offs[3] + 50, offs[3] + 4, offs[3], offs[0] + 3} {
		if err := os.Truncate(path, size); err != nil {
			t.Fatal(err)
		}
		sameScans(t, l, path, 0)
	}
	if _, err := l.ScanMapped(nil, testSeg, 0); !errors.Is(err, plugins.ErrRange) {
		t.Fatalf("from below the segment: %v", err)
	}
}

// sameScans compares Scan and ScanMapped of the file at path from its
// start and from every boundary a walk from the start finds.
func sameScans(t *testing.T, l *Layout, path string, start int64) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for from := start; ; {
		want, err := l.Scan(path, start, from)
		if err != nil {
			t.Fatal(err)
		}
		got, err := l.ScanMapped(data, start, from)
		if err != nil || got != want {
			t.Fatalf("%s from %d: mapped %+v, %v; Scan %+v", path, from, got, err, want)
		}
		if want.Full || want.End == from {
			return
		}
		from = want.End
	}
}
