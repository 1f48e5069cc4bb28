package main

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// latencies collects wait times and results for a summary line.
type latencies struct {
	samples []time.Duration
	sorted  bool
	results map[string]int
}

func (l *latencies) add(d time.Duration, result string) {
	if l.results == nil {
		l.results = map[string]int{}
	}
	l.samples = append(l.samples, d)
	l.sorted = false
	l.results[result]++
}

// count is how many waits were recorded.
func (l *latencies) count() int { return len(l.samples) }

// quantile returns the q-quantile (0..1) of the samples, sorting them once
// after the last add.
func (l *latencies) quantile(q float64) time.Duration {
	if len(l.samples) == 0 {
		return 0
	}
	if !l.sorted {
		slices.Sort(l.samples)
		l.sorted = true
	}
	return l.samples[int(q*float64(len(l.samples)-1))]
}

func (l *latencies) summary() string {
	var res []string
	for k, v := range l.results {
		res = append(res, fmt.Sprintf("%s=%d", k, v))
	}
	slices.Sort(res)
	return fmt.Sprintf("sync waits: %d (%s) p50=%v p99=%v p999=%v max=%v", l.count(), strings.Join(res, " "),
		l.quantile(0.5), l.quantile(0.99), l.quantile(0.999), l.quantile(1))
}
