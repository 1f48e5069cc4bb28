package bench

import (
	"fmt"
	"math"
	"slices"
	"strconv"
)

// target is an issue-14 goal: the figure's ratio (or its value, when it
// has no baseline) compared with Limit.
type target struct {
	OnRatio bool    // compare the ratio, else the value
	AtMost  bool    // want <= Limit, else >= Limit
	Limit   float64 // the bound
}

func (t target) String() string {
	op := ">="
	if t.AtMost {
		op = "<="
	}
	on := "value"
	if t.OnRatio {
		on = "ratio"
	}
	return fmt.Sprintf("%s %s %g", on, op, t.Limit)
}

// met says whether x (the ratio or the value) is within the target. NaN
// (nothing measured) and infinity (a zero baseline) never meet it.
func (t target) met(x float64) bool {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return false
	}
	if t.AtMost {
		return x <= t.Limit
	}
	return x >= t.Limit
}

// spec is what a figure is: its name in the JSON, a line of text, the
// unit, what its baseline is ("" when it has none) and the target.
type spec struct {
	Name     string
	What     string
	Unit     string
	Baseline string
	Also     string // a second baseline, shown with its ratio (no target)
	Target   target
}

// sample is one run's value of a figure and its baseline measured in the
// same run (Base is NaN when the figure has none).
type sample struct {
	Value float64
	Base  float64
	Also  float64 // the second baseline, when the spec has one
}

func noBase(v float64) sample { return sample{Value: v, Base: math.NaN()} }

// Figure is one measured figure: the median of the runs' values and
// baselines, the median of the runs' ratios (each value over its own
// run's baseline), the target and whether the median meets it.
type Figure struct {
	Measurement  string   `json:"measurement"`
	Name         string   `json:"name"`
	What         string   `json:"what"`
	Unit         string   `json:"unit"`
	Value        Num      `json:"value"`
	Baseline     *float64 `json:"baseline"`
	BaselineWhat string   `json:"baseline_what,omitempty"`
	Ratio        *float64 `json:"ratio"`
	Target       string   `json:"target"`
	Met          bool     `json:"met"`
	Runs         []Num    `json:"runs"`
	BaselineRuns []Num    `json:"baseline_runs,omitempty"`
	Also         *float64 `json:"also_baseline,omitempty"`
	AlsoWhat     string   `json:"also_baseline_what,omitempty"`
	AlsoRatio    *float64 `json:"also_ratio,omitempty"`
}

// figure folds the runs' samples of s into a Figure.
func figure(measurement string, s spec, runs []sample) Figure {
	f := Figure{Measurement: measurement, Name: s.Name, What: s.What, Unit: s.Unit, Target: s.Target.String(),
		BaselineWhat: s.Baseline, Runs: []Num{}}
	var values, bases, ratios, also, alsoRatios []float64
	for _, r := range runs {
		values = append(values, r.Value)
		also, alsoRatios = append(also, r.Also), append(alsoRatios, r.Value/r.Also)
		f.Runs = append(f.Runs, Num(r.Value))
		if s.Baseline != "" {
			bases = append(bases, r.Base)
			f.BaselineRuns = append(f.BaselineRuns, Num(r.Base))
			ratios = append(ratios, r.Value/r.Base)
		}
	}
	x := median(values)
	f.Value = Num(x)
	if s.Baseline != "" {
		b, q := median(bases), median(ratios)
		f.Baseline, f.Ratio = finite(b), finite(q)
		if s.Target.OnRatio {
			x = q
		}
	}
	if s.Also != "" {
		f.AlsoWhat, f.Also, f.AlsoRatio = s.Also, finite(median(also)), finite(median(alsoRatios))
	}
	f.Met = s.Target.met(x)
	return f
}

// Num is a figure's number; NaN and infinities (nothing measured, a zero
// baseline) are JSON null, which encoding/json cannot otherwise write.
type Num float64

// MarshalJSON writes n, or null when it is not finite.
func (n Num) MarshalJSON() ([]byte, error) {
	if math.IsNaN(float64(n)) || math.IsInf(float64(n), 0) {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, float64(n), 'g', -1, 64), nil
}

// finite is a pointer to x, or nil (JSON null) for NaN and infinities.
func finite(x float64) *float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return nil
	}
	return &x
}

// median of xs (NaN for none); NaNs sort first, so a failed run shows.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.SortFunc(s, func(a, b float64) int {
		switch {
		case math.IsNaN(a) && math.IsNaN(b):
			return 0
		case math.IsNaN(a):
			return -1
		case math.IsNaN(b):
			return 1
		}
		return cmpFloat(a, b)
	})
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// trim formats x with up to 3 significant decimals and no trailing zeros.
func trim(x float64) string {
	if math.IsNaN(x) {
		return "-"
	}
	switch a := math.Abs(x); {
	case a >= 100:
		return fmt.Sprintf("%.0f", x)
	case a >= 10:
		return fmt.Sprintf("%.1f", x)
	case a >= 1:
		return fmt.Sprintf("%.2f", x)
	}
	return fmt.Sprintf("%.3g", x)
}

// vs is a sample of value v against baseline b.
func vs(v, b float64) sample { return sample{Value: v, Base: b} }
