package bench

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/hasidecar/hasidecar/cmd/hasidecar/internal/spawn"
)

// coveredMetric is the master's lineage coverage gauge.
const coveredMetric = "hasidecar_master_lineage_covered_offset"

// waitLineage waits until the master at metrics address addr has hashed
// its lineage up to end. A master's first start on a directory hashes every
// sealed segment once (a back-fill whose cost grows with the data, not a
// cost of tailing); the tailing figure is taken after it.
func waitLineage(ctx context.Context, addr string, end int64) error {
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		if v, err := scrapeGauge(ctx, addr, coveredMetric); err == nil && v >= float64(end) {
			return nil
		}
		if !spawn.SleepUntil(ctx, time.Now().Add(20*time.Millisecond)) {
			return ctx.Err()
		}
	}
	return fmt.Errorf("master lineage did not reach %d within 2 minutes", end)
}

// scrapeGauge reads one gauge from a metrics endpoint.
func scrapeGauge(ctx context.Context, addr, name string) (float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/metrics", nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		return 0, fmt.Errorf("parse %s metrics: %w", addr, err)
	}
	f, ok := fams[name]
	if !ok || len(f.Metric) == 0 || f.Metric[0].Gauge == nil {
		return 0, fmt.Errorf("%s has no gauge %s", addr, name)
	}
	return f.Metric[0].Gauge.GetValue(), nil
}
