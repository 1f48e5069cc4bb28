package report

import (
	"fmt"
	"io"

	"github.com/hasidecar/hasidecar/sidecar/ack"
	"github.com/hasidecar/hasidecar/sidecar/verify"
)

// MaxAcked is the highest offset any slave acknowledged (RocketMQ 4.x's
// "one slave is enough").
func MaxAcked(s *ack.Snapshot) int64 {
	m := int64(0)
	for _, sl := range s.Slaves {
		m = max(m, sl.Acked)
	}
	return m
}

// Verify prints a comparison of directories a and b: notes, differences,
// and a last line starting OK or DIFFERENT.
func Verify(w io.Writer, a, b string, rep *verify.Report) {
	for _, n := range rep.Notes {
		fmt.Fprintln(w, "note:", n)
	}
	for _, d := range rep.Diffs {
		fmt.Fprintln(w, "DIFF:", d.What)
	}
	if rep.Omitted > 0 {
		fmt.Fprintf(w, "DIFF: ... %d more differences not listed\n", rep.Omitted)
	}
	from := ""
	if rep.Start > 0 {
		from = fmt.Sprintf(" from offset %d", rep.Start)
	}
	what := fmt.Sprintf("%d segments, %d bytes compared%s up to offset %d", rep.Segments, rep.Bytes, from, rep.End)
	if rep.Exact {
		what = fmt.Sprintf("%d segments, %d bytes compared%s, whole files", rep.Segments, rep.Bytes, from)
	}
	if rep.Equal() {
		fmt.Fprintf(w, "OK: %s (valid end %d on both)\n", what, rep.EndA)
		return
	}
	fmt.Fprintf(w, "DIFFERENT: %d differences; %s (valid end %d in %s, %d in %s)\n", rep.Count(), what, rep.EndA, a, rep.EndB, b)
}
