package raw

import (
	"fmt"
	"os"

	"github.com/hasidecar/hasidecar/plugins"
)

// Name is the layout's name in plugins.Info.
const Name = "raw"

// Layout is the raw layout. It is immutable and safe for concurrent use.
type Layout struct {
	segSize int64
}

var _ plugins.Layout = (*Layout)(nil)

// New returns the raw layout for segments of segmentSize bytes. A size <= 0
// yields an error wrapping plugins.ErrBadConfig.
func New(segmentSize int64) (*Layout, error) {
	if segmentSize <= 0 {
		return nil, fmt.Errorf("new raw layout: segment size %d: %w", segmentSize, plugins.ErrBadConfig)
	}
	return &Layout{segSize: segmentSize}, nil
}

// Info implements plugins.Layout.
func (l *Layout) Info() plugins.Info {
	return plugins.Info{Name: Name, SegmentSize: l.segSize, Preallocated: false}
}

// SegmentName implements plugins.Layout: start as 20 zero-padded digits.
func (l *Layout) SegmentName(start int64) string {
	return plugins.OffsetName(start)
}

// ParseName implements plugins.Layout. It accepts exactly 20 ASCII digits
// whose value fits an int64.
func (l *Layout) ParseName(name string) (int64, bool) {
	return plugins.ParseOffsetName(name)
}

// Scan implements plugins.Layout with one stat: the valid end is the file
// size capped at the segment size. Appends by write(2) are never rewritten,
// so Stable equals End. A file that shrank below from was truncated under
// the tailer: that is an error wrapping plugins.ErrCorrupt, because bytes
// already reported valid are gone.
func (l *Layout) Scan(path string, start, from int64) (plugins.Scan, error) {
	segEnd := start + l.segSize
	if from < start || from > segEnd {
		return plugins.Scan{}, fmt.Errorf("scan %s from %d: segment is [%d, %d]: %w", path, from, start, segEnd, plugins.ErrRange)
	}
	st, err := os.Stat(path)
	if err != nil {
		return plugins.Scan{}, fmt.Errorf("scan segment: %w", err)
	}
	if !st.Mode().IsRegular() {
		return plugins.Scan{}, fmt.Errorf("scan segment %s: mode %s: %w", path, st.Mode(), plugins.ErrNotSegment)
	}
	end := start + min(st.Size(), l.segSize)
	if end < from {
		return plugins.Scan{}, fmt.Errorf("scan segment %s: size %d is below offset %d already reported: %w",
			path, st.Size(), from-start, plugins.ErrCorrupt)
	}
	return plugins.Scan{End: end, Stable: end, Full: end == segEnd}, nil
}

// IsBoundary implements plugins.Layout. Raw segments hold no records, so
// every offset inside the segment is a boundary; it does no I/O.
func (l *Layout) IsBoundary(path string, start, off int64) (bool, error) {
	if off < start || off > start+l.segSize {
		return false, fmt.Errorf("is boundary %s at %d: segment is [%d, %d]: %w", path, off, start, start+l.segSize, plugins.ErrRange)
	}
	return true, nil
}
