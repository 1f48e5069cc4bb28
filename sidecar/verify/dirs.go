package verify

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/hasidecar/hasidecar/plugins"
)

// dirState is what one directory holds: its segments, their file sizes and,
// once measured, where its valid data ends.
type dirState struct {
	path   string
	starts []int64         // segment starts, increasing
	sizes  map[int64]int64 // file size by start
	end    int64           // valid end, set by measureEnd
}

func (d *dirState) has(start int64) bool { _, ok := d.sizes[start]; return ok }

func (d *dirState) file(lay plugins.Layout, start int64) string {
	return filepath.Join(d.path, lay.SegmentName(start))
}

// readDir lists dir's segments and their sizes. A directory that is missing
// or holds no segment of the layout is an error: there is nothing to
// compare, and calling it equal would pass a copy that does not exist.
func readDir(lay plugins.Layout, dir string) (*dirState, error) {
	starts, err := plugins.ListSegments(lay, dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("directory %s does not exist: %w", dir, err)
	}
	if err != nil {
		return nil, fmt.Errorf("directory %s: %w", dir, err)
	}
	if len(starts) == 0 {
		ents, _ := os.ReadDir(dir)
		return nil, fmt.Errorf("directory %s holds no segment of layout %s (%d other entries; wrong path or --layout?): %w",
			dir, lay.Info().Name, len(ents), ErrNoSegments)
	}
	d := &dirState{path: dir, starts: starts, sizes: make(map[int64]int64, len(starts))}
	for _, s := range starts {
		st, err := os.Stat(d.file(lay, s))
		if err != nil {
			return nil, fmt.Errorf("stat segment: %w", err)
		}
		d.sizes[s] = st.Size()
	}
	return d, nil
}

// measureEnd walks d's contiguous segments from the first one at or above
// from and sets d.end where valid data ends (from when no segment is there).
func measureEnd(lay plugins.Layout, d *dirState, from int64) error {
	size := lay.Info().SegmentSize
	d.end = from
	prev := int64(-1)
	for _, s := range d.starts {
		if s < from {
			continue
		}
		if prev >= 0 && s != prev+size {
			break // a hole: what follows is not reachable data
		}
		if prev < 0 {
			d.end = s
		}
		sc, err := lay.Scan(d.file(lay, s), s, s)
		if err != nil {
			return fmt.Errorf("scan %s: %w", d.file(lay, s), err)
		}
		d.end, prev = sc.End, s
		if !sc.Full {
			break
		}
	}
	return nil
}
