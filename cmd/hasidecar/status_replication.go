package main

import (
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/hasidecar/hasidecar/sidecar/ack"
)

// replicationJSON is a slave's replication view in `status --json`, like
// a row of PostgreSQL's pg_stat_replication: null is unknown. A classic
// slave sends one offset, its acknowledgement, so its written and synced
// ends (and their lags) are null, never copied from it.
type replicationJSON struct {
	Reports         string     `json:"reports"` // "extended", "classic", or "unknown" (the master does not say)
	Reported        *int64     `json:"reported"`
	Written         *int64     `json:"written"`
	Synced          *int64     `json:"synced"`
	SendLagBytes    int64      `json:"send_lag_bytes"`
	WriteLagBytes   *int64     `json:"write_lag_bytes"`
	FlushLagBytes   *int64     `json:"flush_lag_bytes"`
	AckLagSeconds   *float64   `json:"ack_lag_seconds"`
	WriteLagSeconds *float64   `json:"write_lag_seconds"`
	FlushLagSeconds *float64   `json:"flush_lag_seconds"`
	LastReportAt    *time.Time `json:"last_report_at"`
	Note            string     `json:"note,omitempty"`
}

// classicNote says why a classic slave's written and synced ends are unknown.
const classicNote = "classic slave: it reports one offset, its acknowledgement (written or synced, by its settings); its written and synced ends are unknown"

func replicationOf(sl ack.ReplicaStatus, end int64) replicationJSON {
	r := replicationJSON{Reports: "unknown", SendLagBytes: max(0, end-sl.Sent)}
	if sl.Reports == 0 {
		r.Note = "the master does not report written and synced ends (an older master, or the slave is not streaming yet)"
		return r
	}
	r.Reported, r.AckLagSeconds = &sl.Reported, ptr(sl.AckLag.Seconds())
	r.LastReportAt = &sl.LastReportAt
	if sl.Reports != 2 {
		r.Reports, r.Note = "classic", classicNote
		return r
	}
	r.Reports = "extended"
	if sl.SlaveWritten >= 0 {
		r.Written, r.WriteLagBytes = ptr(sl.SlaveWritten), ptr(max(0, end-sl.SlaveWritten))
	}
	if sl.SlaveSynced >= 0 {
		r.Synced, r.FlushLagBytes = ptr(sl.SlaveSynced), ptr(max(0, end-sl.SlaveSynced))
	}
	if sl.WriteLag >= 0 {
		r.WriteLagSeconds = ptr(sl.WriteLag.Seconds())
	}
	if sl.FlushLag >= 0 {
		r.FlushLagSeconds = ptr(sl.FlushLag.Seconds())
	}
	return r
}

func ptr[T any](v T) *T { return &v }

// printReplication prints the replication view of each slave, "unknown"
// where the slave or the master does not say.
func printReplication(w io.Writer, s ack.Snapshot, now time.Time) {
	if len(s.Slaves) == 0 {
		return
	}
	fmt.Fprintln(w, "\nNAME\tID\tREPORTS\tSENT\tACKED\tWRITTEN\tSYNCED\tSEND LAG BYTES\tWRITE LAG BYTES\tFLUSH LAG BYTES\tACK LAG\tWRITE LAG\tFLUSH LAG\tLAST REPORT")
	var notes []string
	for _, sl := range s.Slaves {
		r := replicationOf(sl, s.MasterEnd)
		last := "unknown"
		if r.LastReportAt != nil {
			last = fmt.Sprintf("%s ago", now.Sub(*r.LastReportAt).Truncate(time.Millisecond))
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%d\t%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\n", orUnknown(sl.Name), sl.ID, r.Reports, sl.Sent, sl.Acked,
			num(r.Written), num(r.Synced), r.SendLagBytes, num(r.WriteLagBytes), num(r.FlushLagBytes),
			secs(r.AckLagSeconds), secs(r.WriteLagSeconds), secs(r.FlushLagSeconds), last)
		if r.Note != "" && !slices.Contains(notes, r.Note) {
			notes = append(notes, r.Note)
		}
	}
	for _, n := range notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
}

func num(v *int64) string {
	if v == nil {
		return "unknown"
	}
	return fmt.Sprint(*v)
}

func secs(v *float64) string {
	if v == nil {
		return "unknown"
	}
	return (time.Duration(*v * float64(time.Second))).Truncate(time.Microsecond).String()
}
