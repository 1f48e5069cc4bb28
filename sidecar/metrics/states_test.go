package metrics

import (
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hasidecar/hasidecar/sidecar"
)

// TestSlavesByName: two sidecar slaves on one host are two series, by
// name; each exports its state, and the master exports its own.
func TestSlavesByName(t *testing.T) {
	src := &masterSource{}
	src.set(sidecar.MasterStats{State: sidecar.MasterStalled, End: 1000, Slaves: []sidecar.SlaveConnStats{
		{ID: "a", Addr: "10.0.0.7:4001", Name: "alpha", Sidecar: true, State: string(sidecar.SlaveStreaming), Acked: 1000, BytesSent: 5},
		{ID: "b", Addr: "10.0.0.7:4002", Name: "beta", Sidecar: true, State: string(sidecar.SlaveStalled), Acked: 400, BytesSent: 7},
		{ID: "c", Addr: "10.0.0.8:4003", Name: "10.0.0.8:4003", State: string(sidecar.SlaveCatchingUp), Acked: 10},
	}})
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(NewMasterCollector(src.get))
	fams := scrape(t, startServer(t, reg, nil))
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"hasidecar_slave_acked_offset", []string{"slave", "alpha"}, 1000},
		{"hasidecar_slave_acked_offset", []string{"slave", "beta"}, 400},
		{"hasidecar_slave_acked_offset", []string{"slave", "10.0.0.8"}, 10}, // classic: by IP
		{"hasidecar_slave_sent_bytes_total", []string{"slave", "beta"}, 7},
		{"hasidecar_master_slave_state", []string{"slave", "alpha", "state", "streaming"}, 1},
		{"hasidecar_master_slave_state", []string{"slave", "alpha", "state", "stalled"}, 0},
		{"hasidecar_master_slave_state", []string{"slave", "beta", "state", "stalled"}, 1},
		{"hasidecar_master_slave_state", []string{"slave", "10.0.0.8", "state", "catching-up"}, 1},
		{"hasidecar_master_state", []string{"state", "stalled"}, 1},
		{"hasidecar_master_state", []string{"state", "serving"}, 0},
	} {
		if got := value(t, fams, c.name, c.labels...); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
}

// TestReadyz: /readyz answers the readiness function, apart from /healthz.
func TestReadyz(t *testing.T) {
	var up atomic.Bool
	base := startServerOpts(t, prometheus.NewRegistry(), nil, WithReady(func() error {
		if up.Load() {
			return nil
		}
		return errors.New("slave alpha is stalled: no acknowledgement progress")
	}))
	if code, body := get(t, base+"/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "alpha is stalled") {
		t.Fatalf("/readyz = %d %q, want 503 with the reason", code, body)
	}
	if code, _ := get(t, base+"/healthz"); code != http.StatusOK {
		t.Fatalf("/healthz = %d while alive", code)
	}
	up.Store(true)
	if code, body := get(t, base+"/readyz"); code != http.StatusOK || strings.TrimSpace(body) != "ok" {
		t.Fatalf("/readyz = %d %q, want 200 ok", code, body)
	}
}
