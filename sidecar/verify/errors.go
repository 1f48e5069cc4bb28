package verify

import (
	"errors"
	"fmt"

	"github.com/hasidecar/hasidecar/plugins/bytesize"
)

// ErrNoSegments means a directory holds no segment of the layout: it is
// empty, or it holds only foreign files (wrong --layout or wrong path).
var ErrNoSegments = errors.New("verify: no segments")

// ErrSegmentSize means the segment files do not match the segment size they
// are compared with; SizeError carries the details.
var ErrSegmentSize = errors.New("verify: segment size mismatch")

// SizeError reports a segment file whose size (or name) contradicts a
// segment size: the layout's, or another file's. Comparing such files would
// compare the wrong byte ranges, so it is an error, not a difference.
type SizeError struct {
	Path string // the file that does not match
	Got  int64  // its size, or with Misaligned the distance to the previous segment (0: none)
	Want int64  // the segment size it contradicts
	// Other is the file Want was read from; empty when Want is the layout's.
	Other string
	// Misaligned: the file's start offset (its name) is not a multiple of Want.
	Misaligned bool
	Start      int64 // the file's start offset
}

func (e *SizeError) Error() string {
	want := "the layout's segment size is " + sizeText(e.Want)
	if e.Other != "" {
		want = e.Other + " is " + sizeText(e.Want)
	}
	if !e.Misaligned {
		return fmt.Sprintf("%s is %s, %s: %v", e.Path, sizeText(e.Got), want, ErrSegmentSize)
	}
	after := ""
	if e.Got > 0 {
		after = fmt.Sprintf(", %s after the previous segment", sizeText(e.Got))
	}
	return fmt.Sprintf("%s starts at offset %d%s, not a multiple of %d bytes; %s: %v",
		e.Path, e.Start, after, e.Want, want, ErrSegmentSize)
}

func (e *SizeError) Unwrap() error { return ErrSegmentSize }

// sizeText renders n as "1048576 bytes (1MiB)".
func sizeText(n int64) string {
	if f := bytesize.Format(n); f != fmt.Sprint(n) {
		return fmt.Sprintf("%d bytes (%s)", n, f)
	}
	return fmt.Sprintf("%d bytes", n)
}
