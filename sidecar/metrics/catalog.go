package metrics

import (
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/hasidecar/hasidecar/sidecar"
)

// Catalog registers every collector the binary exports (master, slave,
// sync-commit and build info) with fake sources that make each family emit
// at least one series, and returns what a scrape would return. It is the
// one list of exported metrics: the monitoring tests check the rules and
// the dashboard against it and `hasidecar gen-docs` writes REFERENCE.md
// from it.
func Catalog() ([]*dto.MetricFamily, error) {
	reg := NewRegistry()
	master := NewMasterCollector(func() sidecar.MasterStats {
		return sidecar.MasterStats{State: sidecar.MasterServing, End: 100, Segments: 1, Connections: 1,
			Slaves: []sidecar.SlaveConnStats{{ID: "a#1", Addr: "127.0.0.1:1", Name: "s1", Sidecar: true,
				State: string(sidecar.SlaveStreaming), Sent: 100, Acked: 50, BytesSent: 100, FramesSent: 2,
				Reports: 2, SlaveWritten: 50, SlaveSynced: 40, WriteLag: time.Millisecond, FlushLag: time.Millisecond}},
			Lineage: sidecar.LineageStats{Enabled: true, Covered: 100, Hashed: 100},
			Digest:  sidecar.DigestStats{Info: 1, Digests: 1, Fetch: 1, FetchedBytes: 10, Connections: 1}}
	})
	slave := NewSlaveCollector(func() sidecar.SlaveStats {
		return sidecar.SlaveStats{State: sidecar.SlaveStreaming, Written: 100, Synced: 100, Acked: 100}
	})
	syncs := NewSyncMetrics()
	syncs.Observe("OK", time.Millisecond)
	build := NewBuildInfo(BuildInfo{Version: "v", Revision: "r", GoVersion: "go"})
	for _, c := range []prometheus.Collector{master, slave, syncs, build} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("catalog: register %T: %w", c, err)
		}
	}
	fams, err := reg.Gather()
	if err != nil {
		return nil, fmt.Errorf("catalog: gather: %w", err)
	}
	return fams, nil
}
