package main

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// latencies collects wait times and results for a summary line.
type latencies struct {
	count   int
	samples []time.Duration
	results map[string]int
	started time.Time
}

func (l *latencies) add(d time.Duration, result string) {
	if l.results == nil {
		l.results = map[string]int{}
	}
	l.count++
	l.samples = append(l.samples, d)
	l.results[result]++
}

// quantile returns the q-quantile (0..1) of the samples.
func (l *latencies) quantile(q float64) time.Duration {
	if len(l.samples) == 0 {
		return 0
	}
	s := slices.Clone(l.samples)
	slices.Sort(s)
	i := int(q * float64(len(s)-1))
	return s[i]
}

func (l *latencies) summary() string {
	var res []string
	for k, v := range l.results {
		res = append(res, fmt.Sprintf("%s=%d", k, v))
	}
	slices.Sort(res)
	return fmt.Sprintf("sync waits: %d (%s) p50=%v p99=%v p999=%v max=%v", l.count, strings.Join(res, " "),
		l.quantile(0.5), l.quantile(0.99), l.quantile(0.999), l.quantile(1))
}
