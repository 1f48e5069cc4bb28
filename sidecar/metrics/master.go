package metrics

import (
	"context"
	"net"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hasidecar/hasidecar/sidecar"
)

var (
	descEnd         = newDesc("master_end_offset", "End of the data the master can serve (absolute byte offset).")
	descOldest      = newDesc("master_oldest_offset", "Start of the oldest segment the master serves (absolute byte offset).")
	descSegments    = newDesc("master_segments", "Segment files in the master's directory.")
	descConnected   = newDesc("master_connected_slaves", "Open slave connections.")
	descConnections = newDesc("master_slave_connections_total", "Slave connections accepted since start.")
	descRefused     = newDesc("master_refused_connections_total", "Connections refused since start (connection cap, allow-list, bad first report).")
	descDiverged    = newDesc("master_diverged", "1 while published master data was rewritten on disk and serving stops at the divergence point, else 0.")
	descDivergences = newDesc("master_divergences_total", "Divergences found since start: published bytes that changed on disk.")
	descSent        = newDesc("slave_sent_offset", "End of the bytes the master sent to the slave (absolute byte offset).", "slave")
	descAcked       = newDesc("slave_acked_offset", "Offset the slave last acknowledged (absolute byte offset).", "slave")
	descLagBytes    = newDesc("slave_lag_bytes", "Master end offset minus the slave's acknowledged offset.", "slave")
	descAckLag      = newDesc("master_slave_ack_lag_seconds", "For the slave's last report that advanced: time from the master's write of the bytes to the report covering them (write or flush lag, by the slave's --ack-after).", "slave")
	descLagSeconds  = newDesc("slave_lag_seconds", "Time since the master's end first exceeded the slave's acknowledged offset; 0 when caught up.", "slave")
	descSentBytes   = newDesc("slave_sent_bytes_total", "Body bytes sent to the slave, summed over its connections.", "slave")
	descSentFrames  = newDesc("slave_sent_frames_total", "Frames sent to the slave (heartbeats included), summed over its connections.", "slave")
	// Not hasidecar_slave_state: the slave exports that name with the label
	// set {state}, and one name must not have two label sets (a process
	// running both roles registers both collectors in one registry).
	descSlaveStateM = newDesc("master_slave_state", "1 for the slave connection's current replication state as the master sees it, 0 for the others.", "slave", "state")
	descMasterState = newDesc("master_state", "1 for the master's current state, 0 for the others.", "state")
)

// maxRetired bounds the closed slaves whose counters are kept: names come
// from the slaves' hellos, and a peer inventing names must not grow the
// collector without end. Beyond it an arbitrary one is dropped (its
// counters restart at 0 if it comes back).
const maxRetired = 1024

func newDesc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc("hasidecar_"+name, help, labels, nil)
}

// sampleWindow bounds the end-offset history kept for lag in seconds: one
// hour at one sample a second.
const sampleWindow = 3600

// MasterCollector exports sidecar.MasterStats. Safe for concurrent use.
type MasterCollector struct {
	src func() sidecar.MasterStats

	mu      sync.Mutex
	samples endSamples
	conns   map[string]connCounts // connection ID -> last observed counts
	retired map[string]connCounts // slave label -> counts of its closed connections
}

// connCounts is one connection's (or a sum of closed connections') counts.
type connCounts struct {
	label         string
	bytes, frames int64
}

var _ prometheus.Collector = (*MasterCollector)(nil)

// NewMasterCollector returns a collector that calls src at each scrape and
// at each Sample. src must be cheap and safe to call from any goroutine.
func NewMasterCollector(src func() sidecar.MasterStats) *MasterCollector {
	return &MasterCollector{
		src:     src,
		conns:   make(map[string]connCounts),
		retired: make(map[string]connCounts),
	}
}

// Sample records the master's end offset at now and folds closed
// connections into the running counters. Call it about once a second
// (or use Run): its rate is the resolution of the lag in seconds.
func (c *MasterCollector) Sample(now time.Time) {
	st := c.src()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.samples.add(now, st.End)
	c.observeConns(st.Slaves)
}

// Run calls Sample every second until ctx ends, for an owner that has no
// tick of its own. It returns nil.
func (c *MasterCollector) Run(ctx context.Context) error {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		c.Sample(time.Now())
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Describe sends the fixed descriptors.
func (c *MasterCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descEnd, descOldest, descSegments, descConnected,
		descConnections, descRefused, descSent, descAcked, descLagBytes, descLagSeconds, descAckLag,
		descSentBytes, descSentFrames, descDiverged, descDivergences, descSlaveStateM, descMasterState} {
		ch <- d
	}
	for _, d := range progressDescs { // master_progress.go
		ch <- d
	}
	for _, d := range lineageDescs { // master_lineage.go
		ch <- d
	}
}

// Collect takes one snapshot and emits it.
func (c *MasterCollector) Collect(ch chan<- prometheus.Metric) {
	now := time.Now()
	st := c.src()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.samples.add(now, st.End)
	c.observeConns(st.Slaves)
	gauge(ch, descEnd, float64(st.End))
	gauge(ch, descOldest, float64(st.Oldest))
	gauge(ch, descSegments, float64(st.Segments))
	gauge(ch, descConnected, float64(len(st.Slaves)))
	counter(ch, descConnections, float64(st.Connections))
	counter(ch, descRefused, float64(st.Refused))
	gauge(ch, descDiverged, boolValue(st.Diverged.Active))
	counter(ch, descDivergences, float64(st.Diverged.Count))
	lineageMetrics(ch, st)
	for _, ms := range sidecar.MasterStates {
		gauge(ch, descMasterState, boolValue(ms == st.State), string(ms))
	}
	for label, s := range bestPerLabel(st.Slaves) {
		gauge(ch, descSent, float64(s.Sent), label)
		gauge(ch, descAcked, float64(s.Acked), label)
		gauge(ch, descLagBytes, float64(max(st.End-s.Acked, 0)), label)
		gauge(ch, descLagSeconds, c.samples.lag(now, s.Acked).Seconds(), label)
		gauge(ch, descAckLag, s.AckLag.Seconds(), label)
		stateGauges(ch, descSlaveStateM, sidecar.SlaveState(s.State), label)
		progressGauges(ch, st.End, s, label)
	}
	for label, t := range c.totals() {
		counter(ch, descSentBytes, float64(t.bytes), label)
		counter(ch, descSentFrames, float64(t.frames), label)
	}
}

// stateGauges emits 1 for the current state and 0 for every other known
// state; a state unknown here (added later) still gets its own 1. The
// labels come before the state label.
func stateGauges(ch chan<- prometheus.Metric, d *prometheus.Desc, cur sidecar.SlaveState, labels ...string) {
	known := false
	for _, s := range sidecar.SlaveStates {
		v := 0.0
		if s == cur {
			v, known = 1, true
		}
		gauge(ch, d, v, append(labels, string(s))...)
	}
	if !known && cur != "" {
		gauge(ch, d, 1, append(labels, string(cur))...)
	}
}

// observeConns remembers each open connection's counts and retires the
// ones that are gone into their host's running total. Caller holds mu.
func (c *MasterCollector) observeConns(slaves []sidecar.SlaveConnStats) {
	open := make(map[string]bool, len(slaves))
	for _, s := range slaves {
		open[s.ID] = true
		c.conns[s.ID] = connCounts{label: labelOf(s), bytes: s.BytesSent, frames: s.FramesSent}
	}
	for id, cc := range c.conns {
		if open[id] {
			continue
		}
		if _, ok := c.retired[cc.label]; !ok && len(c.retired) >= maxRetired {
			for old := range c.retired { // map order: an arbitrary one goes
				delete(c.retired, old)
				break
			}
		}
		r := c.retired[cc.label]
		r.bytes += cc.bytes
		r.frames += cc.frames
		c.retired[cc.label] = r
		delete(c.conns, id)
	}
}

// totals adds open connections to the retired sums, per label. Caller
// holds mu.
func (c *MasterCollector) totals() map[string]connCounts {
	out := make(map[string]connCounts, len(c.retired))
	for label, r := range c.retired {
		out[label] = r
	}
	for _, cc := range c.conns {
		t := out[cc.label]
		t.bytes += cc.bytes
		t.frames += cc.frames
		out[cc.label] = t
	}
	return out
}

// bestPerLabel keeps, per slave label, the connection with the highest
// acked offset, so one slave yields one series however many connections
// it has (a reconnect overlapping the old connection's end).
func bestPerLabel(slaves []sidecar.SlaveConnStats) map[string]sidecar.SlaveConnStats {
	out := make(map[string]sidecar.SlaveConnStats, len(slaves))
	for _, s := range slaves {
		l := labelOf(s)
		if cur, ok := out[l]; !ok || s.Acked > cur.Acked {
			out[l] = s
		}
	}
	return out
}

// labelOf is a connection's slave label: the name a sidecar slave sent in
// its hello; for a classic slave, which has no name and reconnects from a
// new port each time, its IP (its address:port would make a new series on
// every reconnect).
func labelOf(s sidecar.SlaveConnStats) string {
	if s.Sidecar && s.Name != "" && s.Name != s.Addr {
		return s.Name
	}
	return hostOf(s.Addr)
}

// hostOf drops the port of "ip:port"; anything else is used as it is.
func hostOf(addr string) string {
	if h, _, err := net.SplitHostPort(addr); err == nil {
		return h
	}
	return addr
}

func gauge(ch chan<- prometheus.Metric, d *prometheus.Desc, v float64, labels ...string) {
	ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
}

func counter(ch chan<- prometheus.Metric, d *prometheus.Desc, v float64, labels ...string) {
	ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
