package onlineverify

// Range is a run of offsets [Offset, Offset+Length) inside one segment.
type Range struct {
	Offset  int64  `json:"offset"`
	Length  int64  `json:"length"`
	Segment string `json:"segment"`
}

// End is the offset just past the range.
func (r Range) End() int64 { return r.Offset + r.Length }

// Difference is a run of adjacent blocks whose CRCs differ. Repair says
// what --repair did with it ("" when not asked).
type Difference struct {
	Range
	Repair string `json:"repair,omitempty"` // repaired, not_repaired: <why>, failed: <error>
}

// Reasons a range of the slave's data was not compared.
const (
	NotMasterSegment = "master_lacks_segment"  // the master no longer (or never) had the segment
	NotMasterEnd     = "beyond_master_end"     // at or past the master's published end
	NotHashed        = "not_hashed_by_master"  // the master's lineage does not cover it yet
	NotLocalFile     = "local_file_missing"    // inside the slave's range, but no file
	NotPartialBlock  = "partial_leading_block" // the slave starts inside a block the master hashes whole
)

// Skipped is a range of the slave's data that was not compared, and why.
type Skipped struct {
	Range
	Reason string `json:"reason"`
}

// Report is what a run found. Every byte of the slave's range
// [LocalBase, LocalEnd) is either compared (CompareBytes, of which
// MatchBytes matched) or in NotCompared; MasterAhead counts the master's
// bytes past the slave's end, which were not compared either.
type Report struct {
	MasterEnd      int64        `json:"master_end"`
	LocalBase      int64        `json:"local_base"`
	LocalEnd       int64        `json:"local_end"`
	LocalEndFrom   string       `json:"local_end_from"`
	BlockSize      int64        `json:"block_size"`
	ComparedBytes  int64        `json:"compared_bytes"`
	MatchedBytes   int64        `json:"matched_bytes"`
	Differences    []Difference `json:"differences"`
	DifferentBytes int64        `json:"different_bytes"`
	// OmittedDifferences counts differing runs past MaxDifferences.
	OmittedDifferences int       `json:"omitted_differences"`
	NotCompared        []Skipped `json:"not_compared"`
	NotComparedSize    int64     `json:"not_compared_bytes"`
	MasterAhead        int64     `json:"master_ahead_bytes"`
	FetchedBytes       int64     `json:"fetched_bytes"`  // --repair: bytes fetched from the master
	RepairedBytes      int64     `json:"repaired_bytes"` // --repair: bytes written and verified again
	Seconds            float64   `json:"took_seconds"`
}

// Unrepaired is the number of differences still standing (all of them
// without --repair).
func (r *Report) Unrepaired() int {
	n := r.OmittedDifferences
	for _, d := range r.Differences {
		if d.Repair != RepairDone {
			n++
		}
	}
	return n
}

func (r *Report) skip(off, end int64, seg, reason string) {
	if end <= off {
		return
	}
	r.NotComparedSize += end - off
	if n := len(r.NotCompared); n > 0 {
		last := &r.NotCompared[n-1]
		if last.Reason == reason && last.Segment == seg && last.End() == off {
			last.Length += end - off
			return
		}
	}
	r.NotCompared = append(r.NotCompared, Skipped{Range{off, end - off, seg}, reason})
}

// MaxDifferences bounds the differences listed; more are counted in
// Report.OmittedDifferences (and not repaired).
const MaxDifferences = 10000

// differ records [off, end) as differing, merged with an adjacent run; it
// returns the difference's index, or -1 when it was only counted.
func (r *Report) differ(off, end int64, seg string) int {
	r.DifferentBytes += end - off
	n := len(r.Differences)
	if n > 0 {
		last := &r.Differences[n-1]
		if last.Segment == seg && last.End() == off {
			last.Length += end - off
			return n - 1
		}
	}
	if n >= MaxDifferences {
		r.OmittedDifferences++
		return -1
	}
	r.Differences = append(r.Differences, Difference{Range: Range{off, end - off, seg}})
	return n
}
