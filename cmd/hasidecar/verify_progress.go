package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/hasidecar/hasidecar/sidecar/onlineverify"
)

// progress prints `verify --online`'s progress and ETA on stderr: one line
// rewritten in place on a terminal (at most 5 times a second), else a line
// every 10 seconds, so that a log file does not fill with it.
type progress struct {
	w        io.Writer
	tty      bool
	every    time.Duration
	last     time.Time
	printed  bool
	lastLine onlineverify.Progress
}

func newProgress(w io.Writer) *progress {
	p := &progress{w: w, every: 10 * time.Second}
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			p.tty, p.every = true, 200*time.Millisecond
		}
	}
	p.last = time.Now()
	return p
}

func (p *progress) update(pr onlineverify.Progress) {
	p.lastLine = pr
	if time.Since(p.last) < p.every && pr.Done < pr.Total {
		return
	}
	p.last = time.Now()
	line := onlineProgressLine(pr)
	if p.tty {
		fmt.Fprintf(p.w, "\r%s\x1b[K", line)
	} else {
		fmt.Fprintln(p.w, line)
	}
	p.printed = true
}

// finish ends the terminal's progress line.
func (p *progress) finish() {
	if p.tty && p.printed {
		fmt.Fprintln(p.w)
	}
}

// onlineProgressLine is "verify: 45.0% (1.2GiB of 2.0GiB), 310MiB/s, ETA 3s".
func onlineProgressLine(pr onlineverify.Progress) string {
	pct, rate, eta := 100.0, 0.0, "-"
	if pr.Total > 0 {
		pct = 100 * float64(pr.Done) / float64(pr.Total)
	}
	if s := pr.Elapsed.Seconds(); s > 0 && pr.Done > 0 {
		rate = float64(pr.Done) / s
		eta = time.Duration(float64(pr.Total-pr.Done) / rate * float64(time.Second)).Round(time.Second).String()
	}
	return fmt.Sprintf("verify: %.1f%% (%s of %s), %s/s, ETA %s", pct, approxMiB(float64(pr.Done)), approxMiB(float64(pr.Total)),
		approxMiB(rate), eta)
}

// approxMiB is n bytes in MiB with one decimal (bytesize.Format is exact).
func approxMiB(n float64) string { return fmt.Sprintf("%.1fMiB", n/(1<<20)) }
