package metrics

import (
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hasidecar/hasidecar/sidecar"
)

func TestEndSamplesLag(t *testing.T) {
	var e endSamples
	t0 := time.Unix(1000, 0)
	e.add(t0, 100)
	e.add(t0.Add(time.Second), 100) // unchanged: not a new sample
	e.add(t0.Add(2*time.Second), 200)
	e.add(t0.Add(3*time.Second), 300)
	now := t0.Add(10 * time.Second)
	for acked, want := range map[int64]time.Duration{
		0: 10 * time.Second, 99: 10 * time.Second, 100: 8 * time.Second,
		250: 7 * time.Second, 300: 0, 400: 0,
	} {
		if got := e.lag(now, acked); got != want {
			t.Errorf("lag(%d) = %v, want %v", acked, got, want)
		}
	}
	e.add(now, 50) // the master's end went back: history is void
	if len(e.s) != 1 || e.lag(now.Add(time.Second), 10) != time.Second {
		t.Errorf("after reset: %v", e.s)
	}
}

func TestEndSamplesWindow(t *testing.T) {
	var e endSamples
	t0 := time.Unix(0, 0)
	for i := range sampleWindow + 10 {
		e.add(t0.Add(time.Duration(i)*time.Second), int64(i+1))
	}
	if len(e.s) != sampleWindow || e.s[0].end != 11 {
		t.Fatalf("len %d first %d", len(e.s), e.s[0].end)
	}
	// Older than the window: reported as the window's age, a lower bound.
	now := t0.Add(time.Duration(sampleWindow+10) * time.Second)
	if got := e.lag(now, 0); got != time.Duration(sampleWindow)*time.Second {
		t.Fatalf("lag beyond window = %v", got)
	}
}

func BenchmarkMasterCollect(b *testing.B) {
	src := &masterSource{}
	c := NewMasterCollector(src.get)
	for i := range sampleWindow {
		src.set(masterStatsWith(int64(i+1), 8))
		c.Sample(time.Unix(int64(i), 0))
	}
	ch := make(chan prometheus.Metric, 1024)
	go func() {
		for range ch {
		}
	}()
	b.ReportAllocs()
	for b.Loop() {
		c.Collect(ch)
	}
	close(ch)
}

// masterStatsWith is a master at end with n slaves spread over the history.
func masterStatsWith(end int64, n int) sidecar.MasterStats {
	st := sidecar.MasterStats{End: end, Segments: 4}
	for i := range n {
		addr := fmt.Sprintf("10.0.0.%d:4000", i)
		st.Slaves = append(st.Slaves, sidecar.SlaveConnStats{ID: addr, Addr: addr,
			Sent: end, Acked: end * int64(i) / int64(n), BytesSent: end, FramesSent: end / 10})
	}
	return st
}
