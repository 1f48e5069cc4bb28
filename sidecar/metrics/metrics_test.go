package metrics

import (
	"errors"
	"math"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/hasidecar/hasidecar/sidecar"
	"github.com/hasidecar/hasidecar/tailer"
)

func stringsReader(s string) *strings.Reader { return strings.NewReader(s) }

func TestMasterMetricsScraped(t *testing.T) {
	src := &masterSource{}
	c := NewMasterCollector(src.get)
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	base := startServer(t, reg, nil)

	now := time.Now()
	src.set(sidecar.MasterStats{End: 500})
	c.Sample(now.Add(-10 * time.Second))
	src.set(sidecar.MasterStats{
		End: 1000, Oldest: 0, Segments: 2, Connections: 3, Refused: 1,
		Diverged: tailer.Divergence{Active: true, At: 700, Count: 2},
		Slaves: []sidecar.SlaveConnStats{
			{ID: "127.0.0.1:5000#1", Addr: "127.0.0.1:5000", Sent: 800, Acked: 600, BytesSent: 800, FramesSent: 10, AckLag: 250 * time.Millisecond},
			{ID: "[::1]:6000#2", Addr: "[::1]:6000", Sent: 1000, Acked: 1000, BytesSent: 1000, FramesSent: 12},
		},
	})
	c.Sample(now.Add(-5 * time.Second))

	fams := scrape(t, base)
	checks := []struct {
		name   string
		labels []string
		want   float64
	}{
		{"hasidecar_master_end_offset", nil, 1000},
		{"hasidecar_master_segments", nil, 2},
		{"hasidecar_master_connected_slaves", nil, 2},
		{"hasidecar_master_slave_connections_total", nil, 3},
		{"hasidecar_master_refused_connections_total", nil, 1},
		{"hasidecar_master_diverged", nil, 1},
		{"hasidecar_master_divergences_total", nil, 2},
		{"hasidecar_master_slave_ack_lag_seconds", []string{"slave", "127.0.0.1"}, 0.25},
		{"hasidecar_slave_sent_offset", []string{"slave", "127.0.0.1"}, 800},
		{"hasidecar_slave_acked_offset", []string{"slave", "127.0.0.1"}, 600},
		{"hasidecar_slave_lag_bytes", []string{"slave", "127.0.0.1"}, 400},
		{"hasidecar_slave_lag_bytes", []string{"slave", "::1"}, 0},
		{"hasidecar_slave_lag_seconds", []string{"slave", "::1"}, 0},
		{"hasidecar_slave_sent_bytes_total", []string{"slave", "127.0.0.1"}, 800},
		{"hasidecar_slave_sent_frames_total", []string{"slave", "::1"}, 12},
	}
	for _, ck := range checks {
		if got := value(t, fams, ck.name, ck.labels...); got != ck.want {
			t.Errorf("%s%v = %v, want %v", ck.name, ck.labels, got, ck.want)
		}
	}
	// The end passed 600 with the sample taken 5 s ago.
	lag := value(t, fams, "hasidecar_slave_lag_seconds", "slave", "127.0.0.1")
	if lag < 5 || lag > 60 {
		t.Errorf("lag seconds = %v, want about 5", lag)
	}
	if got := fams["hasidecar_slave_sent_bytes_total"].GetType(); got != dto.MetricType_COUNTER {
		t.Errorf("sent bytes type = %v, want counter", got)
	}
}

// TestCountersSurviveReconnect: a slave reconnecting from a new port keeps
// one series, and its counters keep growing from the old connection's total.
func TestCountersSurviveReconnect(t *testing.T) {
	src := &masterSource{}
	c := NewMasterCollector(src.get)
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	base := startServer(t, reg, nil)

	src.set(sidecar.MasterStats{End: 100, Slaves: []sidecar.SlaveConnStats{
		{ID: "a#1", Addr: "10.0.0.7:40000", Sent: 100, Acked: 100, BytesSent: 100, FramesSent: 4},
	}})
	scrape(t, base)
	src.set(sidecar.MasterStats{End: 300, Slaves: []sidecar.SlaveConnStats{
		{ID: "a#2", Addr: "10.0.0.7:40001", Sent: 300, Acked: 250, BytesSent: 200, FramesSent: 3},
	}})
	fams := scrape(t, base)
	if got := value(t, fams, "hasidecar_slave_sent_bytes_total", "slave", "10.0.0.7"); got != 300 {
		t.Errorf("bytes total = %v, want 300", got)
	}
	if got := value(t, fams, "hasidecar_slave_sent_frames_total", "slave", "10.0.0.7"); got != 7 {
		t.Errorf("frames total = %v, want 7", got)
	}
	// Disconnected: no gauges for it, the counters stay.
	src.set(sidecar.MasterStats{End: 300})
	fams = scrape(t, base)
	if find(fams, "hasidecar_slave_acked_offset", "slave", "10.0.0.7") != nil {
		t.Error("gauge kept for a disconnected slave")
	}
	if got := value(t, fams, "hasidecar_slave_sent_bytes_total", "slave", "10.0.0.7"); got != 300 {
		t.Errorf("bytes total after disconnect = %v, want 300", got)
	}
}

func TestTwoConnectionsFromOneHost(t *testing.T) {
	src := &masterSource{}
	src.set(sidecar.MasterStats{End: 100, Slaves: []sidecar.SlaveConnStats{
		{ID: "a#1", Addr: "10.0.0.7:1", Acked: 40, BytesSent: 5},
		{ID: "a#2", Addr: "10.0.0.7:2", Acked: 90, BytesSent: 7},
	}})
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(NewMasterCollector(src.get))
	fams := scrape(t, startServer(t, reg, nil))
	if got := value(t, fams, "hasidecar_slave_acked_offset", "slave", "10.0.0.7"); got != 90 {
		t.Errorf("acked = %v, want the best connection's 90", got)
	}
	if got := value(t, fams, "hasidecar_slave_sent_bytes_total", "slave", "10.0.0.7"); got != 12 {
		t.Errorf("bytes = %v, want the sum 12", got)
	}
}

func TestSlaveMetricsScraped(t *testing.T) {
	st := sidecar.SlaveStats{State: sidecar.SlaveStreaming, Written: 900, Synced: 512, Acked: 880, Reconnects: 2}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(NewSlaveCollector(func() sidecar.SlaveStats { return st }))
	fams := scrape(t, startServer(t, reg, nil))
	for name, want := range map[string]float64{
		"hasidecar_slave_received_offset":  900,
		"hasidecar_slave_written_offset":   900,
		"hasidecar_slave_synced_offset":    512,
		"hasidecar_slave_reported_offset":  880,
		"hasidecar_slave_reconnects_total": 2,
	} {
		if got := value(t, fams, name); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	if got := value(t, fams, "hasidecar_slave_state", "state", "streaming"); got != 1 {
		t.Errorf("state streaming = %v", got)
	}
	if got := value(t, fams, "hasidecar_slave_state", "state", "connecting"); got != 0 {
		t.Errorf("state connecting = %v", got)
	}
}

// TestAllCollectorsInOneRegistry: a process running both roles (the demo)
// can register everything in one registry without a name clash.
func TestAllCollectorsInOneRegistry(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	src := &masterSource{}
	src.set(sidecar.MasterStats{Slaves: []sidecar.SlaveConnStats{{ID: "x", Addr: "1.2.3.4:5"}}})
	reg.MustRegister(NewMasterCollector(src.get), NewSyncMetrics(),
		NewSlaveCollector(func() sidecar.SlaveStats { return sidecar.SlaveStats{State: "new-state"} }))
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if !strings.HasPrefix(f.GetName(), "hasidecar_") {
			t.Errorf("metric %s lacks the prefix", f.GetName())
		}
	}
}

func TestSyncMetrics(t *testing.T) {
	m := NewSyncMetrics()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(m)
	m.Observe("OK", 300*time.Microsecond)
	m.Observe("OK", 2*time.Millisecond)
	m.Observe("TIMEOUT", 5*time.Second)
	fams := scrape(t, startServer(t, reg, nil))
	if got := value(t, fams, "hasidecar_sync_results_total", "status", "OK"); got != 2 {
		t.Errorf("OK results = %v", got)
	}
	if got := value(t, fams, "hasidecar_sync_results_total", "status", "NOT_AVAILABLE"); got != 0 {
		t.Errorf("NOT_AVAILABLE results = %v", got)
	}
	h := find(fams, "hasidecar_sync_wait_seconds", "status", "OK").GetHistogram()
	if h.GetSampleCount() != 2 || math.Abs(h.GetSampleSum()-0.0023) > 1e-9 {
		t.Fatalf("OK histogram count %d sum %v", h.GetSampleCount(), h.GetSampleSum())
	}
	buckets := map[float64]uint64{}
	for _, b := range h.Bucket {
		buckets[b.GetUpperBound()] = b.GetCumulativeCount()
	}
	if buckets[50e-6] != 0 || buckets[500e-6] != 1 || buckets[2.5e-3] != 2 || buckets[10] != 2 {
		t.Errorf("buckets %v", buckets)
	}
	ht := find(fams, "hasidecar_sync_wait_seconds", "status", "TIMEOUT").GetHistogram()
	if ht.GetSampleCount() != 1 {
		t.Errorf("TIMEOUT count %d", ht.GetSampleCount())
	}
}

func TestHealthz(t *testing.T) {
	var sick atomic.Pointer[error]
	base := startServer(t, prometheus.NewRegistry(), func() error {
		if e := sick.Load(); e != nil {
			return *e
		}
		return nil
	})
	if code, body := get(t, base+"/healthz"); code != http.StatusOK || body != "ok\n" {
		t.Fatalf("healthy: %d %q", code, body)
	}
	e := errors.New("slave: write failed: read-only file system")
	sick.Store(&e)
	code, body := get(t, base+"/healthz")
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "read-only file system") {
		t.Fatalf("unhealthy: %d %q", code, body)
	}
	if code, _ := get(t, base+"/nope"); code != http.StatusNotFound {
		t.Fatalf("unknown path: %d", code)
	}
}

func TestServerListenError(t *testing.T) {
	s := NewServer(nil, "127.0.0.1:0", NewRegistry(), nil)
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	defer s.ln.Close()
	s2 := NewServer(nil, s.Addr().String(), prometheus.NewRegistry(), nil)
	if err := s2.Run(t.Context()); !errors.Is(err, ErrServer) {
		t.Fatalf("Run on a busy port = %v, want ErrServer", err)
	}
}
