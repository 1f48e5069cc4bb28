package metrics

import (
	"context"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"go.uber.org/zap/zaptest"

	"github.com/hasidecar/hasidecar/sidecar"
)

// masterSource is a settable stand-in for the master's Stats method.
type masterSource struct {
	mu sync.Mutex
	st sidecar.MasterStats
}

func (m *masterSource) set(st sidecar.MasterStats) { m.mu.Lock(); m.st = st; m.mu.Unlock() }
func (m *masterSource) get() sidecar.MasterStats   { m.mu.Lock(); defer m.mu.Unlock(); return m.st }

// startServer runs a Server on 127.0.0.1:0 for the test and returns its
// base URL; the server is stopped and waited for at cleanup.
func startServer(t *testing.T, reg *prometheus.Registry, healthy func() error) string {
	t.Helper()
	return startServerOpts(t, reg, healthy)
}

func startServerOpts(t *testing.T, reg *prometheus.Registry, healthy func() error, opts ...Option) string {
	t.Helper()
	s := NewServer(zaptest.NewLogger(t), "127.0.0.1:0", reg, healthy, opts...)
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run = %v", err)
		}
	})
	return "http://" + s.Addr().String()
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	// No keep-alive: no client goroutine outlives the request.
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// scrape fetches /metrics in the text format and parses it.
func scrape(t *testing.T, base string) map[string]*dto.MetricFamily {
	t.Helper()
	code, body := get(t, base+"/metrics")
	if code != http.StatusOK {
		t.Fatalf("/metrics: %d %s", code, body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(stringsReader(body))
	if err != nil {
		t.Fatalf("parse scrape: %v\n%s", err, body)
	}
	return fams
}

// value returns the value of the series of family name whose labels
// include all of want (label, value pairs); it fails the test if none.
func value(t *testing.T, fams map[string]*dto.MetricFamily, name string, want ...string) float64 {
	t.Helper()
	m := find(fams, name, want...)
	if m == nil {
		t.Fatalf("no series %s%v", name, want)
	}
	switch {
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Untyped != nil:
		return m.Untyped.GetValue()
	}
	t.Fatalf("%s%v is not a gauge or counter", name, want)
	return 0
}

func find(fams map[string]*dto.MetricFamily, name string, want ...string) *dto.Metric {
	f := fams[name]
	if f == nil {
		return nil
	}
	for _, m := range f.Metric {
		if hasLabels(m, want) {
			return m
		}
	}
	return nil
}

func hasLabels(m *dto.Metric, want []string) bool {
	got := map[string]string{}
	for _, l := range m.Label {
		got[l.GetName()] = l.GetValue()
	}
	for i := 0; i+1 < len(want); i += 2 {
		if got[want[i]] != want[i+1] {
			return false
		}
	}
	return true
}
