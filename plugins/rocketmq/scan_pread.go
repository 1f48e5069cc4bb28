package rocketmq

import (
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/hasidecar/hasidecar/plugins"
)

// scanWindow is the first read of a Scan: a live tail is a few records.
const scanWindow = 16 << 10

var scanBufs = sync.Pool{New: func() any { b := make([]byte, scanWindow); return &b }}

// readWalk walks the records of the segment file from from using pread in
// growing windows instead of a map: a map, its page faults and the munmap
// (a TLB shootdown) cost ~100-200 µs per call on a VM, pread of the few new
// pages a few µs. A short read (the file truncated) simply ends the data.
func (l *Layout) readWalk(path string, start, from, stop int64) (walkResult, error) {
	segEnd := start + l.segSize
	f, err := os.Open(path)
	if err != nil {
		return walkResult{}, fmt.Errorf("open segment: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return walkResult{}, fmt.Errorf("stat segment %s: %w", path, err)
	}
	if !st.Mode().IsRegular() {
		return walkResult{}, fmt.Errorf("scan segment %s: mode %s: %w", path, st.Mode(), plugins.ErrNotSegment)
	}
	fileEnd := start + min(st.Size(), l.segSize)
	bp := scanBufs.Get().(*[]byte)
	defer scanBufs.Put(bp)
	r := walkResult{end: from, last: from, full: from == segEnd}
	win, pos := int64(scanWindow), from
	for pos < fileEnd {
		n := min(win, fileEnd-pos)
		if int64(cap(*bp)) < n {
			*bp = make([]byte, n)
		}
		got, err := f.ReadAt((*bp)[:n], pos-start)
		if err != nil && err != io.EOF {
			return walkResult{}, fmt.Errorf("read segment %s at %d: %w", path, pos, err)
		}
		buf := (*bp)[:got]
		w := l.walk(buf, pos, segEnd, pos, stop)
		if w.end > pos {
			r.last, r.end = w.last, w.end
		}
		r.full, r.why = w.full, w.why
		if w.full || w.end >= stop || int64(got) < n || pos+n >= fileEnd {
			break
		}
		// Did the walk stop inside the window (the data ends) or at its edge?
		rest := buf[w.end-pos:]
		need := int64(BlankSize)
		if len(rest) >= 4 {
			need = max(need, int64(int32(be.Uint32(rest))))
		}
		if int64(len(rest)) >= need || need > segEnd-w.end {
			break
		}
		win = max(min(2*win, 4<<20), need)
		pos = w.end
	}
	return r, nil
}
