package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/hasidecar/hasidecar/sidecar"
)

// The per-slave replication view beyond the acknowledgement (like
// PostgreSQL's pg_stat_replication). The slave's own written and synced
// ends and the lags timed on them exist only for a slave sending extended
// reports (haproto/report2.go); for a classic slave those series are left
// out rather than guessed, and master_slave_extended_reports says which
// kind the slave is.
var (
	descExtended   = newDesc("master_slave_extended_reports", "1 when the slave sends extended reports (its written and synced ends are known), 0 for a classic slave (one offset: written and synced unknown).", "slave")
	descSlaveWr    = newDesc("master_slave_written_offset", "End of the bytes the slave reported writing to its segment files (absolute byte offset); extended reports only.", "slave")
	descSlaveSy    = newDesc("master_slave_synced_offset", "End of the bytes the slave reported fsyncing (absolute byte offset); extended reports only.", "slave")
	descSendLagB   = newDesc("master_slave_send_lag_bytes", "Master end offset minus the end of the bytes sent to the slave.", "slave")
	descWriteLagB  = newDesc("master_slave_write_lag_bytes", "Master end offset minus the slave's reported written end; extended reports only.", "slave")
	descFlushLagB  = newDesc("master_slave_flush_lag_bytes", "Master end offset minus the slave's reported synced end; extended reports only.", "slave")
	descWriteLagS  = newDesc("master_slave_write_lag_seconds", "For the last report that moved the slave's written end: time from the master's write of those bytes to the report (write_lag); extended reports only, once measured.", "slave")
	descFlushLagS  = newDesc("master_slave_flush_lag_seconds", "For the last report that moved the slave's synced end: time from the master's write of those bytes to the report (flush_lag); extended reports only, once measured.", "slave")
	descLastReport = newDesc("master_slave_last_report_timestamp_seconds", "Unix time of the slave's last report (acknowledgement or heartbeat).", "slave")
)

var progressDescs = []*prometheus.Desc{descExtended, descSlaveWr, descSlaveSy, descSendLagB, descWriteLagB,
	descFlushLagB, descWriteLagS, descFlushLagS, descLastReport}

// progressGauges emits one slave's progress series; end is the master's.
func progressGauges(ch chan<- prometheus.Metric, end int64, s sidecar.SlaveConnStats, label string) {
	ext := s.Reports == 2
	gauge(ch, descExtended, boolValue(ext), label)
	gauge(ch, descSendLagB, float64(max(end-s.Sent, 0)), label)
	gauge(ch, descLastReport, float64(s.LastReportAt.UnixNano())/1e9, label)
	if !ext {
		return
	}
	if s.SlaveWritten >= 0 {
		gauge(ch, descSlaveWr, float64(s.SlaveWritten), label)
		gauge(ch, descWriteLagB, float64(max(end-s.SlaveWritten, 0)), label)
	}
	if s.SlaveSynced >= 0 {
		gauge(ch, descSlaveSy, float64(s.SlaveSynced), label)
		gauge(ch, descFlushLagB, float64(max(end-s.SlaveSynced, 0)), label)
	}
	if s.WriteLag >= 0 {
		gauge(ch, descWriteLagS, s.WriteLag.Seconds(), label)
	}
	if s.FlushLag >= 0 {
		gauge(ch, descFlushLagS, s.FlushLag.Seconds(), label)
	}
}
