package crc32c

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"github.com/hasidecar/hasidecar/plugins"
)

var pageSize = int64(os.Getpagesize())

// walkResult is where a walk stopped.
type walkResult struct {
	end  int64 // just past the last valid record (or from)
	last int64 // start of the last valid record (or from)
	full bool  // end marker, too little room for a header, or data to the end
}

// Scan implements plugins.Layout. It maps the file read-only from the page
// holding from up to the smaller of its size and SegmentSize, walks the
// records from from, and unmaps before returning. The first record that does
// not validate ends the data (see the package doc), so Scan never returns
// plugins.ErrCorrupt. A fault while reading the map (the file truncated
// underneath) returns an error wrapping ErrFault.
func (l *Layout) Scan(path string, start, from int64) (plugins.Scan, error) {
	segEnd := start + l.segSize
	if from < start || from > segEnd {
		return plugins.Scan{}, fmt.Errorf("scan %s from %d: segment is [%d, %d]: %w", path, from, start, segEnd, plugins.ErrRange)
	}
	r, err := l.mappedWalk(path, start, from, segEnd)
	if err != nil {
		return plugins.Scan{}, fmt.Errorf("scan %s: %w", path, err)
	}
	if r.full {
		return plugins.Scan{End: segEnd, Stable: segEnd, Full: true}, nil
	}
	return plugins.Scan{End: r.end, Stable: r.last}, nil
}

// IsBoundary implements plugins.Layout by walking the records from start
// until the walk reaches or passes off.
func (l *Layout) IsBoundary(path string, start, off int64) (bool, error) {
	segEnd := start + l.segSize
	if off < start || off > segEnd {
		return false, fmt.Errorf("is boundary %s at %d: segment is [%d, %d]: %w", path, off, start, segEnd, plugins.ErrRange)
	}
	r, err := l.mappedWalk(path, start, start, off)
	if err != nil {
		return false, fmt.Errorf("is boundary %s: %w", path, err)
	}
	return r.end == off || (r.full && off == segEnd), nil
}

// mappedWalk maps the segment and walks it from from until stop.
func (l *Layout) mappedWalk(path string, start, from, stop int64) (walkResult, error) {
	data, base, err := l.mapFrom(path, start, from)
	if err != nil {
		return walkResult{}, err
	}
	r, err := l.walkGuarded(data, base, start+l.segSize, from, stop)
	if data != nil {
		if uerr := unix.Munmap(data); err == nil && uerr != nil {
			err = fmt.Errorf("unmap segment: %w", uerr)
		}
	}
	return r, err
}

// mapFrom maps path read-only from the page holding from to the smaller of
// the file's size and SegmentSize (touching a page beyond EOF raises SIGBUS).
// It returns the map (nil when there is nothing to map) and the absolute
// offset of its first byte.
func (l *Layout) mapFrom(path string, start, from int64) ([]byte, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, fmt.Errorf("open segment: %w", err)
	}
	defer f.Close() // the map outlives the descriptor
	st, err := f.Stat()
	if err != nil {
		return nil, 0, fmt.Errorf("stat segment: %w", err)
	}
	if !st.Mode().IsRegular() {
		return nil, 0, fmt.Errorf("map segment: mode %s: %w", st.Mode(), plugins.ErrNotSegment)
	}
	size := min(st.Size(), l.segSize)
	off := (from - start) &^ (pageSize - 1)
	if size <= from-start {
		return nil, start + off, nil
	}
	// No MAP_POPULATE: the map runs to the end of a preallocated segment,
	// mostly empty; walk prefetches only as far as the data goes.
	m, err := unix.Mmap(int(f.Fd()), off, int(size-off), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return nil, 0, fmt.Errorf("map segment: %w", err)
	}
	return m, start + off, nil
}

// walkGuarded runs walk with memory faults turned into ErrFault: the file may
// be truncated while it is mapped, and a SIGBUS would otherwise kill the
// process.
func (l *Layout) walkGuarded(data []byte, base, segEnd, from, stop int64) (r walkResult, err error) {
	if addr, faulted := plugins.CatchFault(func() { r = walk(data, base, segEnd, from, stop) }); faulted {
		return r, fmt.Errorf("read mapped segment at %#x: %w", addr, ErrFault)
	}
	return r, nil
}

// walk validates records from absolute offset from until the data ends or
// the position reaches stop. data[0] is at absolute offset base; data may end
// before segEnd when the file is shorter than a segment.
func walk(data []byte, base, segEnd, from, stop int64) walkResult {
	r := walkResult{end: from, last: from}
	pf := prefetcher{data: data, base: base, ready: base, window: minWindow}
	for r.end < stop {
		pf.upTo(r.end + HeaderSize)
		if segEnd-r.end < HeaderSize {
			r.full = true
			return r
		}
		n, ok := check(data[min(r.end-base, int64(len(data))):], segEnd-r.end)
		if n == int64(EndMarker) {
			r.full = true
			return r
		}
		if !ok {
			return r
		}
		r.last, r.end = r.end, r.end+n
	}
	r.full = r.end == segEnd
	return r
}

// check validates the record at b[0] (b runs to the end of the mapped data)
// with room bytes before the segment's end. It returns the record's total
// size and whether it is valid, or int64(EndMarker) for the end marker. Each
// byte is read once, so a racing writer cannot make two checks disagree.
func check(b []byte, room int64) (int64, bool) {
	if len(b) < HeaderSize {
		return 0, false
	}
	n := be.Uint32(b)
	if n == EndMarker {
		return int64(EndMarker), false
	}
	size := HeaderSize + int64(n)
	if n == 0 || size > room || size > int64(len(b)) {
		return 0, false
	}
	return size, Checksum(b[HeaderSize:size]) == be.Uint32(b[4:])
}

// Prefetch windows: they start small, so a Scan of a live segment's tail
// populates little beyond the data, and double while records keep coming.
const (
	minWindow = 64 << 10
	maxWindow = 4 << 20
)

// prefetcher populates the read map ahead of the walk with
// madvise(MADV_POPULATE_READ): one call per window instead of one page fault
// per few pages, which roughly doubles a long scan. It is advisory only: any
// error (an old kernel, a truncated file) turns it off and the walk faults
// pages in as usual.
type prefetcher struct {
	data   []byte
	base   int64 // absolute offset of data[0], page aligned
	ready  int64 // absolute offset up to which data is populated
	window int64
	off    bool
}

// upTo populates data up to absolute offset abs (and a window beyond).
func (p *prefetcher) upTo(abs int64) {
	limit := p.base + int64(len(p.data))
	for !p.off && p.ready < abs && p.ready < limit {
		end := min(p.ready+p.window, limit)
		if err := unix.Madvise(p.data[p.ready-p.base:end-p.base], unix.MADV_POPULATE_READ); err != nil {
			p.off = true
			return
		}
		p.ready, p.window = end, min(2*p.window, maxWindow)
	}
}
