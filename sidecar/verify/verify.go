package verify

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"github.com/hasidecar/hasidecar/plugins"
)

// Options tune a comparison.
type Options struct {
	// Exact requires identical directories, whole files included.
	Exact bool
	// MaxDiffs bounds how many differences are listed; default 20.
	MaxDiffs int
}

// Report is the outcome of a comparison.
type Report struct {
	EndA, EndB int64    // valid ends found by the layout
	Segments   int      // segments compared
	Bytes      int64    // bytes compared
	Diffs      []string // what differs, human-readable; empty when equal
	Notes      []string // facts that are not differences (lag, retention)
}

// Equal reports whether no difference was found.
func (r *Report) Equal() bool { return len(r.Diffs) == 0 }

type comparer struct {
	lay  plugins.Layout
	a, b string
	opts Options
	rep  *Report
}

// Dirs compares directory a (the master's) with b (the replica).
func Dirs(lay plugins.Layout, a, b string, opts Options) (*Report, error) {
	if opts.MaxDiffs <= 0 {
		opts.MaxDiffs = 20
	}
	c := &comparer{lay: lay, a: a, b: b, opts: opts, rep: &Report{}}
	segA, err := segments(lay, a)
	if err != nil {
		return nil, err
	}
	if len(segA) == 0 {
		if n, err := regularFiles(a); err != nil || n > 0 {
			return nil, fmt.Errorf("%s holds %d files but no segment of layout %s (wrong --layout?): %w", a, n, lay.Info(), ErrNoSegments)
		}
	}
	segB, err := segments(lay, b)
	if err != nil {
		return nil, err
	}
	if c.rep.EndA, err = validEnd(lay, a, segA); err != nil {
		return nil, err
	}
	if c.rep.EndB, err = validEnd(lay, b, segB); err != nil {
		return nil, err
	}
	c.compareNames(segA, segB)
	for _, s := range segB {
		if slices.Contains(segA, s) {
			if err := c.compareSegment(s); err != nil {
				return nil, err
			}
		}
	}
	c.compareEnds()
	return c.rep, nil
}

func (c *comparer) diff(format string, args ...any) {
	if len(c.rep.Diffs) < c.opts.MaxDiffs {
		c.rep.Diffs = append(c.rep.Diffs, fmt.Sprintf(format, args...))
	} else if len(c.rep.Diffs) == c.opts.MaxDiffs {
		c.rep.Diffs = append(c.rep.Diffs, "... more differences not listed")
	}
}

func (c *comparer) note(format string, args ...any) {
	c.rep.Notes = append(c.rep.Notes, fmt.Sprintf(format, args...))
}

func (c *comparer) compareNames(segA, segB []int64) {
	oldestB, newestB := int64(-1), int64(-1)
	if len(segB) > 0 {
		oldestB, newestB = segB[0], segB[len(segB)-1]
	}
	for _, s := range segA {
		if slices.Contains(segB, s) {
			continue
		}
		switch {
		case c.opts.Exact:
			c.diff("segment %s is only in %s", c.lay.SegmentName(s), c.a)
		case s >= oldestB && (s < c.rep.EndB || s < newestB):
			c.diff("segment %s is missing from %s", c.lay.SegmentName(s), c.b)
		}
	}
	for _, s := range segB {
		if slices.Contains(segA, s) {
			continue
		}
		if c.opts.Exact || len(segA) == 0 || s > segA[0] {
			c.diff("segment %s is only in %s", c.lay.SegmentName(s), c.b)
		} else {
			c.note("segment %s was deleted from %s (retention)", c.lay.SegmentName(s), c.a)
		}
	}
}

func (c *comparer) compareEnds() {
	switch {
	case c.rep.EndB > c.rep.EndA:
		c.diff("%s holds data up to %d, beyond %s's end %d: it diverged", c.b, c.rep.EndB, c.a, c.rep.EndA)
	case c.rep.EndB < c.rep.EndA && c.opts.Exact:
		c.diff("%s ends at %d, %s at %d", c.b, c.rep.EndB, c.a, c.rep.EndA)
	case c.rep.EndB < c.rep.EndA:
		c.note("%s is %d bytes behind %s", c.b, c.rep.EndA-c.rep.EndB, c.a)
	}
}

// compareSegment compares one segment present in both directories, over
// the master's valid data (all of it with Exact). A difference where the
// replica holds nothing yet (zeros, or the end of a growing file) is lag;
// any other difference is reported.
func (c *comparer) compareSegment(start int64) error {
	name := c.lay.SegmentName(start)
	pa, pb := filepath.Join(c.a, name), filepath.Join(c.b, name)
	sa, err := fileSize(pa)
	if err != nil {
		return err
	}
	sb, err := fileSize(pb)
	if err != nil {
		return err
	}
	limit := sa
	if !c.opts.Exact {
		// Beyond the master's valid end it may still be writing.
		limit = min(sa, max(0, c.rep.EndA-start))
	}
	full := start+sa <= c.rep.EndB || c.lay.Info().Preallocated
	if sa != sb && (c.opts.Exact || full) {
		c.diff("segment %s: size %d in %s, %d in %s", name, sa, c.a, sb, c.b)
	}
	c.rep.Segments++
	c.rep.Bytes += limit
	at, err := firstDiff(pa, pb, limit)
	if err != nil || at < 0 {
		return err
	}
	if !c.opts.Exact && start+at >= c.rep.EndB {
		lag, err := emptyFrom(pb, at, limit)
		if err != nil || lag {
			return err
		}
	}
	c.diff("segment %s: bytes differ from offset %d (file position %d)", name, start+at, at)
	return nil
}

// emptyFrom reports whether file p holds only zeros (or nothing) in [from, to).
func emptyFrom(p string, from, to int64) (bool, error) {
	f, err := os.Open(p)
	if err != nil {
		return false, fmt.Errorf("open %s: %w", p, err)
	}
	defer f.Close()
	buf := make([]byte, 1<<20)
	for pos := from; pos < to; {
		n, err := f.ReadAt(buf[:min(int64(len(buf)), to-pos)], pos)
		for _, b := range buf[:n] {
			if b != 0 {
				return false, nil
			}
		}
		pos += int64(n)
		if errors.Is(err, io.EOF) {
			return true, nil
		}
		if err != nil {
			return false, fmt.Errorf("read %s: %w", p, err)
		}
	}
	return true, nil
}

func fileSize(p string) (int64, error) {
	st, err := os.Stat(p)
	if err != nil {
		return 0, fmt.Errorf("stat %s: %w", p, err)
	}
	return st.Size(), nil
}

// firstDiff returns the first position below limit where the files differ, or -1.
func firstDiff(pa, pb string, limit int64) (int64, error) {
	fa, err := os.Open(pa)
	if err != nil {
		return 0, fmt.Errorf("open %s: %w", pa, err)
	}
	defer fa.Close()
	fb, err := os.Open(pb)
	if err != nil {
		return 0, fmt.Errorf("open %s: %w", pb, err)
	}
	defer fb.Close()
	ba, bb := make([]byte, 1<<20), make([]byte, 1<<20)
	for pos := int64(0); pos < limit; {
		n := int(min(int64(len(ba)), limit-pos))
		if _, err := io.ReadFull(fa, ba[:n]); err != nil {
			return 0, fmt.Errorf("read %s: %w", pa, err)
		}
		nb, err := io.ReadFull(fb, bb[:n])
		if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
			return 0, fmt.Errorf("read %s: %w", pb, err)
		}
		if nb < n { // the replica's file is shorter: it differs where it ends
			if i := firstMismatch(ba[:nb], bb[:nb]); i >= 0 {
				return pos + int64(i), nil
			}
			return pos + int64(nb), nil
		}
		if i := firstMismatch(ba[:n], bb[:n]); i >= 0 {
			return pos + int64(i), nil
		}
		pos += int64(n)
	}
	return -1, nil
}

func firstMismatch(a, b []byte) int {
	if bytes.Equal(a, b) {
		return -1
	}
	for i := range a {
		if a[i] != b[i] {
			return i
		}
	}
	return -1
}

// ErrNoSegments means a directory holds files but none the layout names.
var ErrNoSegments = errors.New("verify: no segments")

// regularFiles counts the regular files in dir (none when it is missing).
func regularFiles(dir string) (int, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	n := 0
	for _, e := range ents {
		if e.Type().IsRegular() {
			n++
		}
	}
	return n, err
}

// segments lists a directory's segment starts in order; a missing directory
// holds none.
func segments(lay plugins.Layout, dir string) ([]int64, error) {
	out, err := plugins.ListSegments(lay, dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	return out, err
}

// validEnd walks the contiguous segments from the oldest and returns where
// valid data ends.
func validEnd(lay plugins.Layout, dir string, segs []int64) (int64, error) {
	if len(segs) == 0 {
		return 0, nil
	}
	size := lay.Info().SegmentSize
	end := segs[0]
	for i, s := range segs {
		if i > 0 && s != segs[i-1]+size {
			break
		}
		sc, err := lay.Scan(filepath.Join(dir, lay.SegmentName(s)), s, s)
		if err != nil {
			return 0, fmt.Errorf("scan %s: %w", lay.SegmentName(s), err)
		}
		end = sc.End
		if !sc.Full {
			break
		}
	}
	return end, nil
}
