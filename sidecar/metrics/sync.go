package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// syncBuckets span a local-network ack (tens of microseconds) to the
// longest sensible commit timeout, in 1-2.5-5 steps.
var syncBuckets = []float64{
	50e-6, 100e-6, 250e-6, 500e-6,
	1e-3, 2.5e-3, 5e-3, 10e-3, 25e-3, 50e-3, 100e-3, 250e-3, 500e-3,
	1, 2.5, 5, 10,
}

// syncStatuses are pre-created so every status has a series from the start.
var syncStatuses = []string{"OK", "TIMEOUT", "NOT_AVAILABLE"}

// SyncMetrics records sync-commit waits. It is a prometheus.Collector; safe
// for concurrent use.
type SyncMetrics struct {
	wait    *prometheus.HistogramVec
	results *prometheus.CounterVec
}

var _ prometheus.Collector = (*SyncMetrics)(nil)

// NewSyncMetrics returns an empty SyncMetrics.
func NewSyncMetrics() *SyncMetrics {
	m := &SyncMetrics{
		wait: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "hasidecar_sync_wait_seconds",
			Help:    "Time from a sync-commit WAIT to its answer, by status.",
			Buckets: syncBuckets,
		}, []string{"status"}),
		results: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hasidecar_sync_results_total",
			Help: "Sync-commit WAIT answers by status (OK, TIMEOUT, NOT_AVAILABLE).",
		}, []string{"status"}),
	}
	for _, s := range syncStatuses {
		m.wait.WithLabelValues(s)
		m.results.WithLabelValues(s)
	}
	return m
}

// Observe records one answered WAIT: status is the protocol name
// (ack.Status.String(): "OK", "TIMEOUT", "NOT_AVAILABLE") and d the time
// from the request to the answer. Waits split by status because a TIMEOUT
// always lasts the timeout and a NOT_AVAILABLE none: mixed, they would hide
// the replication latency the OK waits measure.
func (m *SyncMetrics) Observe(status string, d time.Duration) {
	m.wait.WithLabelValues(status).Observe(d.Seconds())
	m.results.WithLabelValues(status).Inc()
}

// Describe implements prometheus.Collector.
func (m *SyncMetrics) Describe(ch chan<- *prometheus.Desc) {
	m.wait.Describe(ch)
	m.results.Describe(ch)
}

// Collect implements prometheus.Collector.
func (m *SyncMetrics) Collect(ch chan<- prometheus.Metric) {
	m.wait.Collect(ch)
	m.results.Collect(ch)
}
