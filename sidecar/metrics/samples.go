package metrics

import (
	"sort"
	"time"
)

// endSample is the master's end offset at a moment.
type endSample struct {
	at  time.Time
	end int64
}

// endSamples is the history of the master's end offset: one entry per
// increase, oldest first, at most sampleWindow entries. Ends are strictly
// increasing, so the first sample past an offset is a binary search.
type endSamples struct {
	s []endSample
}

// add records end at now if it grew. A smaller end (a restarted or reset
// master) invalidates the history.
func (e *endSamples) add(now time.Time, end int64) {
	if n := len(e.s); n > 0 {
		last := e.s[n-1]
		if end == last.end {
			return
		}
		if end < last.end || now.Before(last.at) {
			e.s = e.s[:0]
		}
	}
	if len(e.s) == sampleWindow {
		// Shift instead of a ring: 3600 small copies once a second is
		// cheaper than the bookkeeping, and keeps the search simple.
		copy(e.s, e.s[1:])
		e.s = e.s[:len(e.s)-1]
	}
	e.s = append(e.s, endSample{at: now, end: end})
}

// lag is how long ago the end first exceeded acked: the age of the first
// sample with end > acked. 0 when no sample exceeds it (caught up).
func (e *endSamples) lag(now time.Time, acked int64) time.Duration {
	i := sort.Search(len(e.s), func(i int) bool { return e.s[i].end > acked })
	if i == len(e.s) {
		return 0
	}
	return max(now.Sub(e.s[i].at), 0)
}
