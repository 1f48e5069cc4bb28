package plugins

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"

	"github.com/hasidecar/hasidecar/plugins/bytesize"
)

// ErrSegmentSize means segment files contradict a segment size: another
// file's, or one given explicitly. SegmentSizeError carries the details.
var ErrSegmentSize = errors.New("plugins: segment size mismatch")

// SegmentSizeError names a segment file whose size contradicts another
// file's (Other) or an expected size (Other empty).
type SegmentSizeError struct {
	Path  string // the file that does not match
	Got   int64  // its size
	Want  int64  // the size it contradicts
	Other string // the file Want was read from; empty when Want was expected
}

func (e *SegmentSizeError) Error() string {
	want := "the expected segment size is " + sizeText(e.Want)
	if e.Other != "" {
		want = e.Other + " is " + sizeText(e.Want)
	}
	return fmt.Sprintf("%s is %s, %s: %v", e.Path, sizeText(e.Got), want, ErrSegmentSize)
}

func (e *SegmentSizeError) Unwrap() error { return ErrSegmentSize }

// SizeText renders n as "1048576 bytes (1MiB)", or "1000 bytes".
func sizeText(n int64) string {
	if f := bytesize.Format(n); f != strconv.FormatInt(n, 10) {
		return fmt.Sprintf("%d bytes (%s)", n, f)
	}
	return fmt.Sprintf("%d bytes", n)
}

// DetectSegmentSize returns the size all segment files of dirs share, for a
// preallocated layout, where every segment file is created at the segment
// size; it is how a command without an explicit segment size learns the
// size of a directory that already holds segments. Files that disagree
// yield a *SegmentSizeError naming two of them. A missing directory is an
// error wrapping fs.ErrNotExist; directories without segments add nothing,
// and when no dir holds a segment the answer is 0, nil. A layout that is not
// preallocated has nothing to detect (file sizes are data ends): 0, nil.
func DetectSegmentSize(lay Layout, dirs ...string) (int64, error) {
	if !lay.Info().Preallocated {
		return 0, nil
	}
	var first string
	var size int64
	for _, dir := range dirs {
		starts, err := ListSegments(lay, dir)
		if errors.Is(err, fs.ErrNotExist) {
			return 0, fmt.Errorf("directory %s does not exist: %w", dir, err)
		}
		if err != nil {
			return 0, err
		}
		for _, s := range starts {
			path := filepath.Join(dir, lay.SegmentName(s))
			st, err := os.Stat(path)
			if err != nil {
				return 0, fmt.Errorf("detect segment size: %w", err)
			}
			switch got := st.Size(); {
			case first == "":
				first, size = path, got
			case got != size:
				return 0, &SegmentSizeError{Path: path, Got: got, Want: size, Other: first}
			}
		}
	}
	return size, nil
}
