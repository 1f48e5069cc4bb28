package onlineverify

import (
	"fmt"
	"path/filepath"

	"github.com/hasidecar/hasidecar/plugins"
)

// MaxBlockSize bounds the master's announced block size: a block must fit
// in one fetch (the wire's 4 MiB) for repair, and a buffer of it is held.
const MaxBlockSize = 4 << 20

// task is one run of whole blocks of one segment to compare, [from, to):
// from is a block start, to may cut the last block.
type task struct {
	seg      Segment
	from, to int64
}

// checkInfo refuses a master answer that would make the comparison wrong
// or unbounded: it comes from a peer.
func checkInfo(info MasterInfo, segSize int64) error {
	if info.BlockSize <= 0 || info.BlockSize > MaxBlockSize {
		return fmt.Errorf("master block size %d: want 1 to %d: %w", info.BlockSize, MaxBlockSize, ErrBadMaster)
	}
	if info.End < 0 {
		return fmt.Errorf("master end %d: %w", info.End, ErrBadMaster)
	}
	prev := int64(-1)
	for _, s := range info.Segments {
		switch {
		case s.Base <= prev || s.Base < 0:
			return fmt.Errorf("master segment base %d after %d: %w", s.Base, prev, ErrBadMaster)
		case s.Size != segSize:
			return fmt.Errorf("master segment %s has size %d, this layout %d (give the master's --segment-size): %w",
				s.Name, s.Size, segSize, ErrBadMaster)
		case s.Name == "" || s.Name == "." || s.Name == ".." || filepath.Base(s.Name) != s.Name:
			return fmt.Errorf("master segment name %q: %w", s.Name, ErrBadMaster)
		case s.Covered < s.Base || s.Covered > s.Base+s.Size:
			return fmt.Errorf("master segment %s covered %d outside [%d, %d]: %w", s.Name, s.Covered, s.Base, s.Base+s.Size, ErrBadMaster)
		}
		prev = s.Base
	}
	return nil
}

// plan splits the slave's range [l.Base, l.End) into tasks to compare and
// ranges not compared (recorded in r), segment by segment.
func plan(info MasterInfo, l *Local, r *Report) ([]task, error) {
	byBase := map[int64]Segment{}
	for _, s := range info.Segments {
		byBase[s.Base] = s
	}
	info0 := plugins.Info{SegmentSize: l.SegmentSize}
	var tasks []task
	for s := plugins.SegmentStart(info0, l.Base); s < l.End; s += l.SegmentSize {
		lo, hi := max(s, l.Base), min(s+l.SegmentSize, l.End)
		name, ok := l.Names[s]
		m, onMaster := byBase[s]
		switch {
		case !ok:
			r.skip(lo, hi, m.Name, NotLocalFile)
			continue
		case !onMaster:
			r.skip(lo, hi, name, NotMasterSegment)
			continue
		case m.Name != name:
			return nil, fmt.Errorf("segment at %d is %s here and %s on the master (same layout on both?): %w", s, name, m.Name, ErrBadMaster)
		}
		if t, ok := planSegment(info, m, lo, hi, r); ok {
			tasks = append(tasks, t)
		}
	}
	r.MasterAhead = max(0, info.End-l.End)
	return tasks, nil
}

// planSegment is plan for the slave's bytes [lo, hi) of master segment m.
func planSegment(info MasterInfo, m Segment, lo, hi int64, r *Report) (task, bool) {
	bs := info.BlockSize
	a := m.Base + (lo-m.Base+bs-1)/bs*bs // the first block start at or above lo
	r.skip(lo, min(a, hi), m.Name, NotPartialBlock)
	cmpEnd := min(hi, info.End, m.Covered)
	x := max(min(a, hi), cmpEnd)
	endCut := max(x, min(info.End, hi))
	r.skip(x, endCut, m.Name, NotHashed)
	r.skip(endCut, hi, m.Name, NotMasterEnd)
	if a >= cmpEnd {
		return task{}, false
	}
	return task{seg: m, from: a, to: cmpEnd}, true
}
