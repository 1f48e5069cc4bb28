package main

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"
)

// benchFigures are the figures `hasidecar bench` reports, by measurement.
var benchFigures = map[string][]string{
	"catchup": {"catchup_throughput", "catchup_cpu_per_gib", "catchup_big_batch"},
	"tailing": {"tailing_cpu_many_segments"},
	"idle":    {"idle_cpu_master_slave"},
	"live":    {"live_master_cpu", "live_lag_p99", "live_last_record_p50"},
	"sync":    {"sync_p50", "sync_p99", "sync_committed_wait_p50", "sync_group_commit"},
	"verify":  {"verify_online_throughput", "verify_online_cpu_per_gib"},
}

// benchJSON is the part of bench's --json output the test checks.
type benchJSON struct {
	Date    string   `json:"date"`
	Runs    int      `json:"runs"`
	Quick   bool     `json:"quick"`
	Only    []string `json:"only"`
	Met     *int     `json:"met"`
	NotMet  *int     `json:"not_met"`
	Figures []struct {
		Measurement  string    `json:"measurement"`
		Name         string    `json:"name"`
		What         string    `json:"what"`
		Unit         string    `json:"unit"`
		Value        *float64  `json:"value"`
		Baseline     *float64  `json:"baseline"`
		BaselineWhat string    `json:"baseline_what"`
		Ratio        *float64  `json:"ratio"`
		Target       string    `json:"target"`
		Met          *bool     `json:"met"`
		Runs         []float64 `json:"runs"`
	} `json:"figures"`
}

// TestBenchQuickJSON runs `bench --quick --json` of the real binary (master
// and slave as its child processes) and checks the shape of the one JSON
// object: every figure, its baseline and ratio where it has one, a target
// and a met that agrees with it. Speed is not checked.
func TestBenchQuickJSON(t *testing.T) {
	out := benchOutput(t, "bench", "--quick", "--json")
	var r benchJSON
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("bench --json is not one JSON object: %v\n%s", err, out)
	}
	if r.Date == "" || r.Runs != 1 || !r.Quick || r.Met == nil || r.NotMet == nil {
		t.Fatalf("header: %+v", r)
	}
	var got []string
	met := 0
	for _, f := range r.Figures {
		got = append(got, f.Name)
		if !slices.Contains(benchFigures[f.Measurement], f.Name) || f.What == "" || f.Unit == "" || f.Value == nil || len(f.Runs) != 1 {
			t.Errorf("figure %+v: bad shape", f)
			continue
		}
		hasBase := f.BaselineWhat != ""
		if hasBase != (f.Baseline != nil) || hasBase != (f.Ratio != nil) {
			t.Errorf("%s: baseline_what %q with baseline %v and ratio %v", f.Name, f.BaselineWhat, f.Baseline, f.Ratio)
		}
		if f.Met == nil || !targetAgrees(t, f.Target, *f.Value, f.Ratio, *f.Met) {
			t.Errorf("%s: target %q, value %v, ratio %v, met %v", f.Name, f.Target, *f.Value, f.Ratio, f.Met)
		}
		if f.Met != nil && *f.Met {
			met++
		}
	}
	var want []string
	for _, m := range []string{"catchup", "tailing", "idle", "live", "sync", "verify"} {
		want = append(want, benchFigures[m]...)
	}
	if !slices.Equal(got, want) {
		t.Errorf("figures %v, want %v", got, want)
	}
	if *r.Met != met || *r.NotMet != len(r.Figures)-met {
		t.Errorf("met %d, not_met %d; the figures say %d of %d", *r.Met, *r.NotMet, met, len(r.Figures))
	}
}

// targetAgrees checks that met is what the target says of the value or
// the ratio ("ratio <= 15", "value >= 20").
func targetAgrees(t *testing.T, target string, value float64, ratio *float64, met bool) bool {
	f := strings.Fields(target)
	if len(f) != 3 || (f[1] != "<=" && f[1] != ">=") {
		return false
	}
	var limit float64
	if err := json.Unmarshal([]byte(f[2]), &limit); err != nil {
		return false
	}
	x := value
	switch f[0] {
	case "ratio":
		if ratio == nil {
			return false
		}
		x = *ratio
	case "value":
	default:
		return false
	}
	want := x <= limit
	if f[1] == ">=" {
		want = x >= limit
	}
	return !math.IsNaN(x) && want == met
}

// TestBenchOnly runs one measurement with --only, and refuses an unknown
// name as a usage error before anything runs.
func TestBenchOnly(t *testing.T) {
	var r benchJSON
	out := benchOutput(t, "bench", "--quick", "--json", "--only", "idle")
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if len(r.Figures) != 1 || r.Figures[0].Name != "idle_cpu_master_slave" || !slices.Equal(r.Only, []string{"idle"}) {
		t.Fatalf("--only idle: %+v", r)
	}
	msg, code := runBin(t, "bench", "--only", "nosuch")
	if code != 64 || !strings.Contains(msg, `"nosuch"`) {
		t.Fatalf("--only nosuch: exit %d, %s", code, msg)
	}
}

// benchOutput runs the binary with its temporary directory in the test's,
// so that nothing is left behind, and returns its standard output.
func benchOutput(t *testing.T, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binPath, args...)
	cmd.Env = append(os.Environ(), "TMPDIR="+t.TempDir())
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%v: %v\n%s", args, err, stderr.String())
	}
	return out
}
