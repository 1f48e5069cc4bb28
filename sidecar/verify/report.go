package verify

import "fmt"

// Options tune a comparison.
type Options struct {
	// Exact requires identical directories: the same names from the oldest
	// segment on and whole files, not only bytes up to the valid end.
	Exact bool
	// MaxDiffs bounds how many differences are listed; default 20.
	MaxDiffs int
}

// Diff is one difference.
type Diff struct {
	// Segment is the segment file's name (no directory).
	Segment string `json:"segment"`
	// Offset is the absolute offset of the first differing byte; -1 when
	// the difference is not about one byte.
	Offset int64 `json:"offset"`
	// FilePos is Offset inside the segment file; -1 with Offset.
	FilePos int64 `json:"file_position"`
	// What says what differs, for people.
	What string `json:"what"`
}

func (d Diff) String() string { return d.What }

// Report is the outcome of a comparison.
type Report struct {
	SegmentSize int64 `json:"segment_size"`
	Exact       bool  `json:"exact"`
	// Start and End bound the compared range: from the first segment both
	// directories must hold (the oldest one of either with Exact) up to the
	// longer valid end; with Exact whole files are compared, also past End.
	Start int64 `json:"start"`
	End   int64 `json:"end"`
	// EndA and EndB are the valid ends the layout found in each directory.
	EndA int64 `json:"valid_end_master"`
	EndB int64 `json:"valid_end_slave"`
	// Segments counts the segment files whose bytes were compared, Bytes the
	// bytes compared in each directory.
	Segments int   `json:"segments"`
	Bytes    int64 `json:"bytes"`
	// Diffs lists differences (at most Options.MaxDiffs), Omitted counts
	// those left out.
	Diffs   []Diff `json:"differences"`
	Omitted int    `json:"omitted_differences"`
	// Notes are facts that are not differences: segments outside the
	// compared range, an accepted preallocated segment.
	Notes []string `json:"notes"`
}

// Equal reports whether no difference was found.
func (r *Report) Equal() bool { return len(r.Diffs) == 0 }

// Count returns how many differences were found, listed or not.
func (r *Report) Count() int { return len(r.Diffs) + r.Omitted }

func (r *Report) diff(max int, d Diff) {
	if len(r.Diffs) >= max {
		r.Omitted++
		return
	}
	r.Diffs = append(r.Diffs, d)
}

func (r *Report) note(format string, args ...any) {
	r.Notes = append(r.Notes, fmt.Sprintf(format, args...))
}
