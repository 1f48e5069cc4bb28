package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"text/tabwriter"
)

func numCPU() int { return runtime.NumCPU() }

func printJSON(out io.Writer, r *Result) error {
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// printTable prints one line per figure: value, baseline, ratio, target,
// met; then what each baseline is.
func printTable(out io.Writer, r *Result) {
	fmt.Fprintf(out, "\nhasidecar bench, %s, %d CPUs, median of %d run(s)%s, %.0fs\n", r.Date, r.CPUs, r.Runs, quickNote(r.Quick), r.Took)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "figure\tvalue\tbaseline\tratio\ttarget\tmet")
	for _, f := range r.Figures {
		base, ratio := "-", "-"
		if f.Baseline != nil {
			base = trim(*f.Baseline) + " " + f.Unit
		}
		if f.Ratio != nil {
			ratio = trim(*f.Ratio)
		}
		if f.Also != nil && f.AlsoRatio != nil {
			base += " (" + trim(*f.Also) + " " + f.Unit + ")"
			ratio += " (" + trim(*f.AlsoRatio) + ")"
		}
		fmt.Fprintf(tw, "%s\t%s %s\t%s\t%s\t%s\t%t\n", f.What, trim(float64(f.Value)), f.Unit, base, ratio, f.Target, f.Met)
	}
	tw.Flush()
	fmt.Fprintln(out, "baselines (measured in the same run):")
	for _, f := range r.Figures {
		if f.BaselineWhat != "" {
			fmt.Fprintf(out, "  %s: %s\n", f.What, f.BaselineWhat)
		}
		if f.AlsoWhat != "" {
			fmt.Fprintf(out, "  %s, in parentheses: %s\n", f.What, f.AlsoWhat)
		}
	}
	fmt.Fprintf(out, "targets met: %d of %d\n", r.Met, r.Met+r.NotMet)
}

func quickNote(q bool) string {
	if q {
		return " (QUICK: small sizes, figures not comparable)"
	}
	return ""
}
