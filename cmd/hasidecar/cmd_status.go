package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/hasidecar/hasidecar/sidecar/ack"
	"github.com/hasidecar/hasidecar/sidecar/ackclient"
)

// runStatus prints the master's end, policy, committed offset, divergence
// and each slave's progress, as a table or (--json) as one JSON document.
func runStatus(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("status")
	socket := fs.String("socket", "", "the master's ack socket (--ack-socket of hasidecar master)")
	asJSON := fs.Bool("json", false, "print JSON instead of a table")
	timeout := fs.Duration("timeout", 5*time.Second, "how long to wait for the master's answer")
	watch := fs.Bool("watch", false, "redraw the status every --interval until interrupted (plain snapshots when not on a terminal)")
	interval := fs.Duration("interval", time.Second, "refresh interval of --watch")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *socket == "" {
		return usageError{errors.New("status: --socket is required")}
	}
	if *watch {
		if *asJSON || *interval < 10*time.Millisecond {
			return usageError{errors.New("status: --watch takes no --json, and an --interval of at least 10ms")}
		}
		return watchStatus(ctx, *socket, *interval, *timeout, stdout)
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	cl, err := ackclient.Dial(ctx, *socket)
	if err != nil {
		return waitExit{waitCodeError, err}
	}
	defer cl.Close()
	snap, err := cl.Query(ctx)
	if err != nil {
		return waitExit{waitCodeError, err}
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(statusJSON(snap))
	}
	return printStatus(stdout, snap, time.Now())
}

// statusSlave adds the lag to a slave's state for JSON readers.
type statusSlave struct {
	ack.ReplicaStatus
	Lag int64 `json:"lag"`
	replicationJSON
}

type statusDoc struct {
	ack.Snapshot
	Slaves []statusSlave `json:"slaves"`
}

func statusJSON(s ack.Snapshot) statusDoc {
	d := statusDoc{Snapshot: s, Slaves: make([]statusSlave, 0, len(s.Slaves))}
	for _, sl := range s.Slaves {
		d.Slaves = append(d.Slaves, statusSlave{ReplicaStatus: sl, Lag: max(0, s.MasterEnd-sl.Acked),
			replicationJSON: replicationOf(sl, s.MasterEnd)})
	}
	return d
}

func printStatus(w io.Writer, s ack.Snapshot, now time.Time) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "master state\t%s\n", masterStateLine(s))
	fmt.Fprintf(tw, "master end\t%d\n", s.MasterEnd)
	fmt.Fprintf(tw, "policy\t%s\n", s.Policy)
	fmt.Fprintf(tw, "committed\t%d\n", s.Committed)
	fmt.Fprintf(tw, "fallbehind max\t%d\n", s.FallbehindMax)
	fmt.Fprintf(tw, "divergence\t%s\n", divergenceLine(s.Divergence, now))
	fmt.Fprintf(tw, "slaves\t%d\n\n", len(s.Slaves))
	if len(s.Slaves) > 0 {
		fmt.Fprintln(tw, "NAME\tSTATE\tID\tADDR\tSENT\tACKED\tLAG BYTES\tCONNECTED SINCE\tREASON")
		for _, sl := range s.Slaves {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%d\t%s (%s)\t%s\n", orUnknown(sl.Name), orUnknown(sl.State), sl.ID, sl.Addr,
				sl.Sent, sl.Acked, max(0, s.MasterEnd-sl.Acked), sl.ConnectedAt.Format(time.RFC3339),
				now.Sub(sl.ConnectedAt).Truncate(time.Second), sl.Reason)
		}
		printReplication(tw, s, now)
	}
	return tw.Flush()
}

// masterStateLine is the master's state and reason; a master that
// predates states says none, and status says so rather than guessing.
func masterStateLine(s ack.Snapshot) string {
	if s.MasterState == "" {
		return "unknown (the master does not report states)"
	}
	if s.MasterReason == "" {
		return s.MasterState
	}
	return s.MasterState + ": " + s.MasterReason
}

func orUnknown(v string) string {
	if v == "" {
		return "-"
	}
	return v
}

// divergenceLine says whether the master's data diverged from what the
// slaves were sent, and since when.
func divergenceLine(d ack.Divergence, now time.Time) string {
	if !d.Active {
		return "none"
	}
	return fmt.Sprintf("ACTIVE: the master's data above offset %d was rewritten, since %s (%s): %s; waits above it are NOT_AVAILABLE",
		d.At, d.Since.Format(time.RFC3339), now.Sub(d.Since).Truncate(time.Second), d.Reason)
}
