package verify

import (
	"github.com/hasidecar/hasidecar/plugins"
)

// DetectSegmentSize returns the size all segment files of dirs share, for a
// preallocated layout, where every segment file is created at the segment
// size. Files that disagree yield a *SizeError naming two of them; a missing
// or segment-less directory is an error as in Dirs. A layout that is not
// preallocated has nothing to detect (file sizes are data ends): 0, nil.
func DetectSegmentSize(lay plugins.Layout, dirs ...string) (int64, error) {
	if !lay.Info().Preallocated {
		return 0, nil
	}
	var first string
	var size int64
	for _, dir := range dirs {
		d, err := readDir(lay, dir)
		if err != nil {
			return 0, err
		}
		for _, s := range d.starts {
			switch got := d.sizes[s]; {
			case first == "":
				first, size = d.file(lay, s), got
			case got != size:
				return 0, &SizeError{Path: d.file(lay, s), Got: got, Want: size, Other: first}
			}
		}
	}
	return size, nil
}

// checkSizes verifies that d's files fit the layout's segment size: names
// on multiples of it, and files of exactly that size (preallocated) or at
// most that size (growing segments).
func checkSizes(lay plugins.Layout, d *dirState) error {
	info := lay.Info()
	prev := int64(-1)
	for _, s := range d.starts {
		if s%info.SegmentSize != 0 {
			e := &SizeError{Path: d.file(lay, s), Want: info.SegmentSize, Misaligned: true, Start: s}
			if prev >= 0 {
				e.Got = s - prev
			}
			return e
		}
		prev = s
		got := d.sizes[s]
		if got != info.SegmentSize && (info.Preallocated || got > info.SegmentSize) {
			return &SizeError{Path: d.file(lay, s), Got: got, Want: info.SegmentSize}
		}
	}
	return nil
}
