package verify

import (
	"github.com/hasidecar/hasidecar/plugins"
)

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
