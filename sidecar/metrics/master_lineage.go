package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/hasidecar/hasidecar/sidecar"
)

// The master's lineage (sidecar/master_feed.go) and its digest channel
// (sidecar/master_digest.go). The lineage series exist only on a master
// that keeps lineage (a state directory).
var (
	descLinCovered  = newDesc("master_lineage_covered_offset", "Offset below which every byte the master published, from its oldest segment, is hashed into its lineage (absolute byte offset).")
	descLinHashed   = newDesc("master_lineage_hashed_bytes_total", "Bytes hashed into the master's lineage since start: published bytes, the back-fill of what the lineage lacked at start, and segments hashed again.")
	descLinRehashed = newDesc("master_lineage_rehashed_segments_total", "Segments whose lineage was dropped at start and hashed again because their file's size or mtime differed from its stamp.")
	descDigestReqs  = newDesc("master_digest_requests_total", "Digest-channel requests answered, refusals included, by operation.", "op")
	descDigestRef   = newDesc("master_digest_refused_requests_total", "Digest-channel requests answered with an error (range, busy, bad_request).")
	descDigestBytes = newDesc("master_digest_fetched_bytes_total", "Bytes sent by digest-channel fetch replies (verify --online --repair, scrub).")
	descDigestConns = newDesc("master_digest_connections_total", "Digest-channel connections accepted (those over --max-digest-conns excluded).")
)

var lineageDescs = []*prometheus.Desc{descLinCovered, descLinHashed, descLinRehashed, descDigestReqs, descDigestRef,
	descDigestBytes, descDigestConns}

// lineageMetrics emits the lineage and digest-channel series of st.
func lineageMetrics(ch chan<- prometheus.Metric, st sidecar.MasterStats) {
	if l := st.Lineage; l.Enabled {
		gauge(ch, descLinCovered, float64(l.Covered))
		counter(ch, descLinHashed, float64(l.Hashed))
		counter(ch, descLinRehashed, float64(l.Rehashed))
	}
	d := st.Digest
	counter(ch, descDigestReqs, float64(d.Info), "info")
	counter(ch, descDigestReqs, float64(d.Digests), "digests")
	counter(ch, descDigestReqs, float64(d.Fetch), "fetch")
	counter(ch, descDigestRef, float64(d.Refused))
	counter(ch, descDigestBytes, float64(d.FetchedBytes))
	counter(ch, descDigestConns, float64(d.Connections))
}
