package loadgen

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Latencies collects wait times and results for a summary line.
type Latencies struct {
	samples []time.Duration
	sorted  bool
	results map[string]int
}

// Add records one wait and its result.
func (l *Latencies) Add(d time.Duration, result string) {
	if l.results == nil {
		l.results = map[string]int{}
	}
	l.samples = append(l.samples, d)
	l.sorted = false
	l.results[result]++
}

// Count is how many waits were recorded.
func (l *Latencies) Count() int { return len(l.samples) }

// Quantile returns the q-quantile (0..1) of the samples, sorting them once
// after the last add.
func (l *Latencies) Quantile(q float64) time.Duration {
	if len(l.samples) == 0 {
		return 0
	}
	if !l.sorted {
		slices.Sort(l.samples)
		l.sorted = true
	}
	return l.samples[int(q*float64(len(l.samples)-1))]
}

// Summary is a line of counts by result and quantiles.
func (l *Latencies) Summary() string {
	var res []string
	for k, v := range l.results {
		res = append(res, fmt.Sprintf("%s=%d", k, v))
	}
	slices.Sort(res)
	return fmt.Sprintf("sync waits: %d (%s) p50=%v p99=%v p999=%v max=%v", l.Count(), strings.Join(res, " "),
		l.Quantile(0.5), l.Quantile(0.99), l.Quantile(0.999), l.Quantile(1))
}

// Result is how many waits ended with result.
func (l *Latencies) Result(result string) int { return l.results[result] }
