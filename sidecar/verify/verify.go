package verify

import (
	"fmt"
	"slices"

	"github.com/hasidecar/hasidecar/plugins"
)

type comparer struct {
	lay  plugins.Layout
	size int64
	a, b *dirState
	opts Options
	rep  *Report
}

// Dirs compares directory a (the master's) with b (the replica) under the
// contract in the package documentation. Differences are in the Report; an
// error means the comparison could not be made (a directory missing or
// without segments, wrapping ErrNoSegments or fs.ErrNotExist; files that
// contradict the segment size, a *SizeError; an I/O error).
func Dirs(lay plugins.Layout, a, b string, opts Options) (*Report, error) {
	if opts.MaxDiffs <= 0 {
		opts.MaxDiffs = 20
	}
	size := lay.Info().SegmentSize
	c := &comparer{lay: lay, size: size, opts: opts, rep: &Report{SegmentSize: size, Exact: opts.Exact, Diffs: []Diff{}, Notes: []string{}}}
	for _, p := range []struct {
		dir string
		dst **dirState
	}{{a, &c.a}, {b, &c.b}} {
		d, err := readDir(lay, p.dir)
		if err != nil {
			return nil, err
		}
		if err := checkSizes(lay, d); err != nil {
			return nil, err
		}
		*p.dst = d
	}
	c.setRange()
	for _, d := range []*dirState{c.a, c.b} {
		if err := measureEnd(lay, d, c.rep.Start); err != nil {
			return nil, err
		}
	}
	c.rep.EndA, c.rep.EndB = c.a.end, c.b.end
	c.rep.End = max(c.a.end, c.b.end)
	if err := c.compareSegments(); err != nil {
		return nil, err
	}
	c.compareEnds()
	return c.rep, nil
}

// setRange picks the first compared offset. With Exact it is the oldest
// segment of either side. Otherwise it is the later of the two oldest
// segments: a replica that started from the master's last segment, or a
// master whose retention deleted segments the replica still holds, is not a
// difference, but what lies below is not compared and the report says so.
func (c *comparer) setRange() {
	oa, ob := c.a.starts[0], c.b.starts[0]
	c.rep.Start = min(oa, ob)
	if c.opts.Exact || oa == ob {
		return
	}
	c.rep.Start = max(oa, ob)
	older, newer := c.a, c.b
	if ob < oa {
		older, newer = c.b, c.a
	}
	n := 0
	for _, s := range older.starts {
		if s < c.rep.Start {
			n++
		}
	}
	c.rep.note("%d segments of %s below offset %d are not compared: %s starts at segment %s (a replica started later, or retention)",
		n, older.path, c.rep.Start, newer.path, c.lay.SegmentName(c.rep.Start))
}

// compareSegments walks every segment of either side from Start on.
func (c *comparer) compareSegments() error {
	var all []int64
	for _, s := range append(slices.Clone(c.a.starts), c.b.starts...) {
		if s >= c.rep.Start {
			all = append(all, s)
		}
	}
	slices.Sort(all)
	for _, s := range slices.Compact(all) {
		var err error
		switch {
		case c.a.has(s) && c.b.has(s):
			err = c.compareSegment(s)
		case c.a.has(s):
			err = c.oneSide(s, c.a, c.b)
		default:
			err = c.oneSide(s, c.b, c.a)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// compareSegment compares one segment both sides hold: up to the longer
// valid end (whole files with Exact), sizes included.
func (c *comparer) compareSegment(s int64) error {
	name := c.lay.SegmentName(s)
	sa, sb := c.a.sizes[s], c.b.sizes[s]
	limit := max(sa, sb)
	if !c.opts.Exact {
		limit = min(limit, max(0, c.rep.End-s))
	}
	if limit > 0 { // a segment past the valid end had only its name and size compared
		c.rep.Segments++
		c.rep.Bytes += limit
	}
	at, err := firstDiff(c.a.file(c.lay, s), c.b.file(c.lay, s), limit)
	if err != nil {
		return err
	}
	sizes := ""
	if sa != sb {
		sizes = fmt.Sprintf("; file sizes %d in %s, %d in %s", sa, c.a.path, sb, c.b.path)
	}
	switch {
	case at >= 0:
		c.rep.diff(c.opts.MaxDiffs, Diff{Segment: name, Offset: s + at, FilePos: at,
			What: fmt.Sprintf("segment %s: bytes differ from offset %d (file position %d)%s", name, s+at, at, sizes)})
	case sa != sb:
		m := min(sa, sb)
		c.rep.diff(c.opts.MaxDiffs, Diff{Segment: name, Offset: s + m, FilePos: m,
			What: fmt.Sprintf("segment %s: sizes differ%s", name, sizes)})
	}
	return nil
}

// oneSide handles segment s that only dir has. The one exception to "a
// difference" is RocketMQ's preallocated next segment: all zeros, right
// after the segment holding the last valid byte of either side.
func (c *comparer) oneSide(s int64, dir, other *dirState) error {
	name := c.lay.SegmentName(s)
	next := c.nextSegment()
	if s != next {
		what := fmt.Sprintf("segment %s is only in %s", name, dir.path)
		if s > next {
			what += fmt.Sprintf(" (it lies beyond the last data; only the next segment, %s, may be an all-zero preallocated one)",
				c.lay.SegmentName(next))
		}
		c.rep.diff(c.opts.MaxDiffs, Diff{Segment: name, Offset: -1, FilePos: -1, What: what})
		return nil
	}
	nz, err := firstNonZero(dir.file(c.lay, s))
	if err != nil {
		return err
	}
	if nz < 0 {
		c.rep.note("segment %s is only in %s: all zeros right after the last data, a preallocated next segment (accepted)", name, dir.path)
		return nil
	}
	c.rep.diff(c.opts.MaxDiffs, Diff{Segment: name, Offset: s + nz, FilePos: nz,
		What: fmt.Sprintf("segment %s is only in %s and is not an all-zero preallocated next segment: non-zero byte at offset %d (file position %d); %s has no such segment",
			name, dir.path, s+nz, nz, other.path)})
	return nil
}

// nextSegment is the start of the segment after the one holding the last
// valid byte of either side (after Start's when there is no data).
func (c *comparer) nextSegment() int64 {
	last := c.rep.Start
	if c.rep.End > c.rep.Start {
		last = c.rep.End - 1
	}
	return last - last%c.size + c.size
}

// compareEnds reports valid ends that differ: a copy that stops early is
// incomplete, one that goes further diverged.
func (c *comparer) compareEnds() {
	ea, eb := c.a.end, c.b.end
	if ea == eb {
		return
	}
	low := min(ea, eb)
	seg := c.lay.SegmentName(low - low%c.size)
	what := fmt.Sprintf("valid data ends at %d in %s but at %d in %s: the copy is %d bytes short (still replicating, or truncated)",
		eb, c.b.path, ea, c.a.path, ea-eb)
	if eb > ea {
		what = fmt.Sprintf("%s holds valid data up to %d, beyond %s's end %d: it diverged (or the directories are swapped)",
			c.b.path, eb, c.a.path, ea)
	}
	c.rep.diff(c.opts.MaxDiffs, Diff{Segment: seg, Offset: low, FilePos: low % c.size, What: what})
}
