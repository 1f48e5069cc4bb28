package metrics

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"go.yaml.in/yaml/v3"
)

// monitoringDir holds the operator's rules and dashboard (systemd/monitoring).
var monitoringDir = filepath.Join("..", "..", "systemd", "monitoring")

// futureMetrics are names the rules may use before the binary exports
// them, each with what will export it. TestMonitoringNamesExist fails once
// one is exported, so the entry is removed when its feature lands.
var futureMetrics = map[string]string{}

// scrapeMetrics are series Prometheus itself adds to every target.
var scrapeMetrics = []string{"up"}

// TestMonitoringNamesExist checks that every metric name the rules and the
// dashboard query is one the binary exports, one a recording rule
// defines, or an allow-listed future metric: a renamed or misspelled
// metric would otherwise leave a panel empty or an alert silent.
func TestMonitoringNamesExist(t *testing.T) {
	defined := exportedNames(t)
	for _, n := range scrapeMetrics {
		defined[n] = true
	}
	for n, why := range futureMetrics {
		if defined[n] {
			t.Errorf("%s is exported now: remove it from futureMetrics (%s)", n, why)
		}
		defined[n] = true
	}
	records, ruleExprs := ruleFile(t, filepath.Join(monitoringDir, "hasidecar.rules.yml"))
	for _, r := range records {
		defined[r] = true
	}
	dashExprs := dashboardExprs(t, filepath.Join(monitoringDir, "grafana-dashboard.json"))
	if len(ruleExprs) < 10 || len(dashExprs) < 10 {
		t.Fatalf("found %d rule and %d dashboard expressions: the files were not read as expected", len(ruleExprs), len(dashExprs))
	}
	for file, exprs := range map[string][]string{"hasidecar.rules.yml": ruleExprs, "grafana-dashboard.json": dashExprs} {
		missing, err := undefinedNames(exprs, defined)
		if err != nil {
			t.Errorf("%s: %v", file, err)
		}
		for _, m := range missing {
			t.Errorf("%s: metric %s is neither exported, recorded nor allow-listed", file, m)
		}
	}
}

// TestUndefinedNamesFindsMisspelling shows the check above catches a
// misspelled name and passes over PromQL that is not a metric name.
func TestUndefinedNamesFindsMisspelling(t *testing.T) {
	defined := map[string]bool{"hasidecar_slave_lag_bytes": true, "hasidecar_sync_wait_seconds_bucket": true, "rec:x": true}
	exprs := []string{
		`max by (instance, slave) (hasidecar_slave_lag_bytes{slave=~"$slave", x="a}b"}) > 5e+6 and on (instance) rec:x`,
		`histogram_quantile(0.99, sum without (job) (rate(hasidecar_sync_wait_seconds_bucket[$__rate_interval]))) # hasidecar_commented`,
		`hasidecar_slave_lag_byte > 0 or bool 1 offset 5m`,
	}
	missing, err := undefinedNames(exprs, defined)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"hasidecar_slave_lag_byte"}; !slices.Equal(missing, want) {
		t.Fatalf("undefinedNames = %v, want %v", missing, want)
	}
	if _, err := undefinedNames([]string{`x{a="b}`}, defined); err == nil {
		t.Fatal("an unterminated selector was accepted")
	}
}

// exportedNames registers the binary's collectors (NewRegistry's Go and
// process collectors, both roles, sync metrics, build info) with sources
// that fill every series, gathers, and returns the sample names: a
// histogram's _bucket, _sum and _count, a summary's quantiles, _sum and
// _count.
func exportedNames(t *testing.T) map[string]bool {
	t.Helper()
	fams, err := Catalog()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, f := range fams {
		if len(f.Metric) == 0 {
			t.Errorf("%s has no series: the fake sources miss it", f.GetName())
		}
		for _, n := range sampleNames(f) {
			names[n] = true
		}
	}
	return names
}

func sampleNames(f *dto.MetricFamily) []string {
	n := f.GetName()
	switch f.GetType() {
	case dto.MetricType_HISTOGRAM, dto.MetricType_GAUGE_HISTOGRAM:
		return []string{n + "_bucket", n + "_sum", n + "_count"}
	case dto.MetricType_SUMMARY:
		return []string{n, n + "_sum", n + "_count"}
	}
	return []string{n}
}

// ruleFile returns the recording rules' names and every rule's expr.
func ruleFile(t *testing.T, path string) (records, exprs []string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Groups []struct {
			Rules []struct {
				Record string `yaml:"record"`
				Alert  string `yaml:"alert"`
				Expr   string `yaml:"expr"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(b, &f); err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			if r.Record != "" {
				records = append(records, r.Record)
			}
			exprs = append(exprs, r.Expr)
		}
	}
	return records, exprs
}

// labelValues is a Grafana variable query: label_values(SELECTOR, LABEL)
// queries SELECTOR; label_values(LABEL) names no metric.
var labelValues = regexp.MustCompile(`^\s*label_values\((.*),\s*[A-Za-z_][A-Za-z0-9_]*\s*\)\s*$`)

// dashboardExprs returns every panel target's expr (rows' nested panels
// included: the walk visits every "expr" key) and the metric selectors of
// the templating queries.
func dashboardExprs(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels     []any `json:"panels"`
		Templating struct {
			List []struct {
				Query any `json:"query"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
	var exprs []string
	collectExprs(d.Panels, &exprs)
	for _, v := range d.Templating.List {
		q, _ := v.Query.(string)
		if m, ok := v.Query.(map[string]any); ok {
			q, _ = m["query"].(string)
		}
		if sm := labelValues.FindStringSubmatch(q); sm != nil {
			exprs = append(exprs, sm[1])
		} else if q != "" && !strings.HasPrefix(strings.TrimSpace(q), "label_values(") {
			exprs = append(exprs, q)
		}
	}
	return exprs
}

func collectExprs(v any, out *[]string) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if s, ok := e.(string); ok && k == "expr" {
				*out = append(*out, s)
				continue
			}
			collectExprs(e, out)
		}
	case []any:
		for _, e := range x {
			collectExprs(e, out)
		}
	}
}

// undefinedNames returns the metric names the expressions use that are not
// in defined, sorted and without repeats.
func undefinedNames(exprs []string, defined map[string]bool) ([]string, error) {
	var missing []string
	for _, e := range exprs {
		names, err := promqlMetricNames(e)
		if err != nil {
			return nil, fmt.Errorf("expr %q: %w", e, err)
		}
		for _, n := range names {
			if !defined[n] && !slices.Contains(missing, n) {
				missing = append(missing, n)
			}
		}
	}
	slices.Sort(missing)
	return missing, nil
}
