package bench

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
)

// TestFigureMedians checks that a figure is the median of its runs, its
// ratio the median of each run's value over that run's baseline, and that
// met follows the target on the ratio.
func TestFigureMedians(t *testing.T) {
	s := spec{Name: "x", Baseline: "b", Target: target{OnRatio: true, AtMost: true, Limit: 2}}
	f := figure("m", s, []sample{vs(10, 10), vs(30, 10), vs(20, 5)}) // ratios 1, 3, 4
	if f.Value != 20 || *f.Baseline != 10 || *f.Ratio != 3 || f.Met {
		t.Fatalf("value %v baseline %v ratio %v met %v, want 20 10 3 false", f.Value, *f.Baseline, *f.Ratio, f.Met)
	}
	if f.Target != "ratio <= 2" {
		t.Fatalf("target %q", f.Target)
	}
	f = figure("m", spec{Name: "y", Target: target{Limit: 5}}, []sample{noBase(6), noBase(4)})
	if f.Value != 5 || f.Baseline != nil || f.Ratio != nil || !f.Met {
		t.Fatalf("no baseline: %+v", f)
	}
}

// TestFigureNothingMeasured: a missing run or a zero baseline is null in
// the JSON and never meets a target.
func TestFigureNothingMeasured(t *testing.T) {
	s := spec{Name: "x", Baseline: "b", Target: target{OnRatio: true, Limit: 0}}
	f := figure("m", s, []sample{vs(1, 0)})
	if f.Met || f.Ratio != nil {
		t.Fatalf("zero baseline: ratio %v met %v", f.Ratio, f.Met)
	}
	f = figure("m", spec{Name: "y", Target: target{AtMost: true, Limit: 1}}, nil)
	if f.Met || !math.IsNaN(float64(f.Value)) {
		t.Fatalf("no runs: %+v", f)
	}
	b, err := json.Marshal(f)
	if err != nil || !strings.Contains(string(b), `"value":null`) {
		t.Fatalf("JSON %s, %v", b, err)
	}
}
