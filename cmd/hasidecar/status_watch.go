package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hasidecar/hasidecar/sidecar/ack"
	"github.com/hasidecar/hasidecar/sidecar/ackclient"
)

// watchStatus prints the status every interval until ctx ends: on a
// terminal the screen is redrawn, with a progress bar and an ETA for each
// catching-up slave; elsewhere each snapshot follows the last, plain.
func watchStatus(ctx context.Context, socket string, interval, timeout time.Duration, stdout io.Writer) error {
	tty := isTerminal(stdout)
	prev := map[string]sample{}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		now := time.Now()
		snap, err := queryOnce(ctx, socket, timeout)
		if tty {
			fmt.Fprint(stdout, "\033[H\033[2J")
		}
		fmt.Fprintf(stdout, "--- %s\n", now.Format(time.RFC3339))
		if err != nil {
			fmt.Fprintf(stdout, "no answer from %s: %v\n", socket, err)
		} else {
			if err := printStatus(stdout, snap, now); err != nil {
				return err
			}
			printProgress(stdout, snap, prev, now)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// queryOnce asks the master for one snapshot on a fresh connection, so a
// restarted master is picked up at the next tick.
func queryOnce(ctx context.Context, socket string, timeout time.Duration) (ack.Snapshot, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cl, err := ackclient.Dial(ctx, socket)
	if err != nil {
		return ack.Snapshot{}, err
	}
	defer cl.Close()
	return cl.Query(ctx)
}

// sample is a slave's acknowledged offset at a time, for its rate.
type sample struct {
	acked int64
	at    time.Time
}

// printProgress draws a bar and an ETA for each catching-up slave, from
// the change of its acknowledged offset since the previous snapshot.
func printProgress(w io.Writer, s ack.Snapshot, prev map[string]sample, now time.Time) {
	for _, sl := range s.Slaves {
		p, seen := prev[sl.ID]
		prev[sl.ID] = sample{acked: sl.Acked, at: now}
		if sl.State != "catching-up" {
			continue
		}
		fmt.Fprintf(w, "%s %s\n", orUnknown(sl.Name), progressLine(sl.Acked, s.MasterEnd, p, seen, now))
	}
}

// progressLine is "[#####.....]  48.2%  ETA 12s" for a slave at acked of
// end; the ETA needs an earlier sample and progress since it.
func progressLine(acked, end int64, p sample, seen bool, now time.Time) string {
	const width = 30
	frac := 0.0
	if end > 0 {
		frac = min(1, max(0, float64(acked)/float64(end)))
	}
	n := int(frac * width)
	bar := "[" + strings.Repeat("#", n) + strings.Repeat(".", width-n) + "]"
	eta := "ETA unknown (no progress measured yet)"
	if dt := now.Sub(p.at).Seconds(); seen && dt > 0 && acked > p.acked {
		rate := float64(acked-p.acked) / dt
		eta = fmt.Sprintf("ETA %s at %.1f MiB/s", (time.Duration(float64(end-acked)/rate) * time.Second).Truncate(time.Second), rate/(1<<20))
	}
	return fmt.Sprintf("%s %5.1f%%  %s", bar, 100*frac, eta)
}

// isTerminal reports whether w is a terminal (a redrawn view makes sense).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}
