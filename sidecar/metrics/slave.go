package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/hasidecar/hasidecar/sidecar"
)

var (
	descReceived   = newDesc("slave_received_offset", "End of the bytes the slave received (absolute byte offset).")
	descWritten    = newDesc("slave_written_offset", "End of the bytes the slave wrote to its segment files (absolute byte offset).")
	descSynced     = newDesc("slave_synced_offset", "End of the bytes the slave fsynced and checkpointed (absolute byte offset).")
	descReported   = newDesc("slave_reported_offset", "Last offset the slave reported (acknowledged) to the master (absolute byte offset).")
	descReconnects = newDesc("slave_reconnects_total", "Sessions the slave started after its first.")
	descState      = newDesc("slave_state", "1 for the slave's current replication state, 0 for the others.", "state")
	descScrubbed   = newDesc("slave_scrub_verified_offset", "Every byte from the first one scrubbed up to this offset was read back and matched the lineage (absolute byte offset).")
	descScrubBytes = newDesc("slave_scrubbed_bytes_total", "Bytes the continuous scrub read back from the slave's segment files.")
	descScrubBad   = newDesc("slave_scrub_mismatches_total", "Ranges the continuous scrub found differing from the lineage or the master's digests.")
)

// SlaveCollector exports sidecar.SlaveStats. Safe for concurrent use.
type SlaveCollector struct {
	src func() sidecar.SlaveStats
}

var _ prometheus.Collector = (*SlaveCollector)(nil)

// NewSlaveCollector returns a collector that calls src at each scrape.
func NewSlaveCollector(src func() sidecar.SlaveStats) *SlaveCollector {
	return &SlaveCollector{src: src}
}

// Describe sends the fixed descriptors.
func (c *SlaveCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descReceived, descWritten, descSynced, descReported, descReconnects, descState,
		descScrubbed, descScrubBytes, descScrubBad} {
		ch <- d
	}
}

// Collect takes one snapshot and emits it. A state not in the known list
// (added to sidecar later) is still exported as its own series.
func (c *SlaveCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.src()
	gauge(ch, descReceived, float64(st.Written)) // frames are applied as they arrive
	gauge(ch, descWritten, float64(st.Written))
	gauge(ch, descSynced, float64(st.Synced))
	gauge(ch, descReported, float64(st.Acked))
	counter(ch, descReconnects, float64(st.Reconnects))
	stateGauges(ch, descState, st.State)
	gauge(ch, descScrubbed, float64(st.ScrubVerified))
	counter(ch, descScrubBytes, float64(st.ScrubBytes))
	counter(ch, descScrubBad, float64(st.ScrubMismatches))
}
