package onlineverify

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/hasidecar/hasidecar/applier"
	"github.com/hasidecar/hasidecar/plugins"
)

// Local is the slave's side: its directory, the range of offsets it holds
// and where that range came from.
type Local struct {
	Dir         string
	Base, End   int64            // the bytes [Base, End) are the slave's data
	EndFrom     string           // "checkpoint" or "scan"
	SegmentSize int64            // the layout's
	Names       map[int64]string // segment files present, by base offset
}

// ErrNoData is a directory with no segment of the layout and no checkpoint:
// nothing to compare is never "identical".
var ErrNoData = errors.New("onlineverify: no data to compare")

// OpenLocal finds the slave's data range: the checkpoint in stateDir when
// there is one (its durable end: bytes past it may still be written or
// rolled back by a running slave), else the layout's Scan of the newest
// segment file (a damaged record there ends the range early; what lies
// beyond is then reported as not compared, never as matching).
func OpenLocal(lay plugins.Layout, dir, stateDir string) (*Local, error) {
	names, err := listSegments(lay, dir)
	if err != nil {
		return nil, err
	}
	l := &Local{Dir: dir, SegmentSize: lay.Info().SegmentSize, Names: names}
	if stateDir != "" {
		c, found, err := applier.ReadCheckpoint(stateDir)
		if err != nil {
			return nil, fmt.Errorf("slave checkpoint: %w", err)
		}
		if found && c.End > c.Base {
			if c.Info.SegmentSize != l.SegmentSize {
				return nil, fmt.Errorf("checkpoint in %s records segment size %d, the layout has %d: %w",
					stateDir, c.Info.SegmentSize, l.SegmentSize, plugins.ErrBadConfig)
			}
			l.Base, l.End, l.EndFrom = c.Base, c.End, "checkpoint"
			return l, nil
		}
	}
	return l, l.scanEnd(lay)
}

// scanEnd sets the range from the segment files alone: from the oldest
// segment's start to the valid end of the newest.
func (l *Local) scanEnd(lay plugins.Layout) error {
	bases := l.bases()
	if len(bases) == 0 {
		return fmt.Errorf("%s: no segment files and no checkpoint: %w", l.Dir, ErrNoData)
	}
	last := bases[len(bases)-1]
	sc, err := lay.Scan(filepath.Join(l.Dir, l.Names[last]), last, last)
	if err != nil {
		return fmt.Errorf("scan %s: %w", l.Names[last], err)
	}
	l.Base, l.End, l.EndFrom = bases[0], sc.End, "scan"
	return nil
}

// bases are the segment starts present, ascending.
func (l *Local) bases() []int64 {
	var b []int64
	for k := range l.Names {
		b = append(b, k)
	}
	sort.Slice(b, func(i, j int) bool { return b[i] < b[j] })
	return b
}

func listSegments(lay plugins.Layout, dir string) (map[int64]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read slave directory: %w", err)
	}
	names := map[int64]string{}
	for _, e := range ents {
		if !e.Type().IsRegular() {
			continue
		}
		if start, ok := lay.ParseName(e.Name()); ok {
			names[start] = e.Name()
		}
	}
	return names, nil
}
