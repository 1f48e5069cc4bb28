package plugins

import (
	"fmt"
	"os"
	"slices"
	"strconv"
)

// OffsetNameLen is the length of an offset segment name.
const OffsetNameLen = 20

// OffsetName is the naming RocketMQ uses (UtilAll.offset2FileName) and
// most offset-addressed logs copy: the start offset as 20 zero-padded
// decimal digits.
func OffsetName(start int64) string {
	return fmt.Sprintf("%020d", start)
}

// ParseOffsetName accepts exactly 20 ASCII digits whose value fits an int64;
// anything else is not an offset name.
func ParseOffsetName(name string) (int64, bool) {
	if len(name) != OffsetNameLen {
		return 0, false
	}
	for i := 0; i < len(name); i++ {
		if name[i] < '0' || name[i] > '9' {
			return 0, false
		}
	}
	v, err := strconv.ParseInt(name, 10, 64)
	if err != nil {
		return 0, false
	}
	return v, true
}

// ListSegments returns the start offsets of the regular files in dir whose
// names l accepts, in increasing order. Other files are not segments.
func ListSegments(l Layout, dir string) ([]int64, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("list segments in %s: %w", dir, err)
	}
	var starts []int64
	for _, e := range ents {
		if s, ok := l.ParseName(e.Name()); ok && e.Type().IsRegular() {
			starts = append(starts, s)
		}
	}
	slices.Sort(starts)
	return starts, nil
}
