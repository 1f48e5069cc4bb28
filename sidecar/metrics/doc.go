// Package metrics exposes the sidecar to Prometheus (pull model) and serves
// /healthz and /readyz.
//
// Collectors read a snapshot function at each scrape (sidecar.MasterStats,
// sidecar.SlaveStats), so nothing in the replication path touches a metric;
// only sync-commit waits are observed as they finish (SyncMetrics).
//
// # Metrics
//
// Offsets are absolute byte positions in the commit log. All names carry the
// hasidecar_ prefix.
//
// Both roles (NewBuildInfo):
//
//	hasidecar_build_info{version,revision,goversion}  gauge  always 1: which build runs
//
// Master (NewMasterCollector):
//
//	hasidecar_master_end_offset                 gauge    end of the data the master can serve
//	hasidecar_master_oldest_offset              gauge    start of the oldest segment served
//	hasidecar_master_segments                   gauge    segment files in the directory
//	hasidecar_master_connected_slaves           gauge    open slave connections
//	hasidecar_master_slave_connections_total    counter  slave connections accepted
//	hasidecar_master_refused_connections_total  counter  connections refused (cap, allow-list, bad report)
//	hasidecar_slave_sent_offset{slave}          gauge    end of the bytes sent to the slave
//	hasidecar_slave_acked_offset{slave}         gauge    offset the slave acknowledged
//	hasidecar_slave_lag_bytes{slave}            gauge    master end - acked offset
//	hasidecar_slave_lag_seconds{slave}          gauge    how long the master's end has been past the acked offset
//	hasidecar_master_slave_ack_lag_seconds{slave} gauge  from the master's write to the slave's report of it, last advance
//	hasidecar_master_slave_extended_reports{slave} gauge 1: extended reports (written and synced known), 0: classic
//	hasidecar_master_slave_written_offset{slave}  gauge  the slave's reported written end (extended only)
//	hasidecar_master_slave_synced_offset{slave}   gauge  the slave's reported fsynced end (extended only)
//	hasidecar_master_slave_send_lag_bytes{slave}  gauge  master end - sent offset
//	hasidecar_master_slave_write_lag_bytes{slave} gauge  master end - written (extended only)
//	hasidecar_master_slave_flush_lag_bytes{slave} gauge  master end - synced (extended only)
//	hasidecar_master_slave_write_lag_seconds{slave} gauge  from the master's write to the report showing it written, last advance (extended only)
//	hasidecar_master_slave_flush_lag_seconds{slave} gauge  from the master's write to the report showing it synced, last advance (extended only)
//	hasidecar_master_slave_last_report_timestamp_seconds{slave} gauge  unix time of the last report
//	hasidecar_slave_sent_bytes_total{slave}     counter  body bytes sent, across reconnects
//	hasidecar_slave_sent_frames_total{slave}    counter  frames sent (heartbeats included), across reconnects
//	hasidecar_master_slave_state{slave,state}   gauge    1 for the connection's replication state, 0 for the others
//	hasidecar_master_state{state}               gauge    1 for the master's state (starting, serving, diverged, stalled, dir-missing)
//
// The slave label is the name a sidecar slave sends in its hello
// (sidecar.SlaveConfig.Name, its host name by default), so two slaves on
// one host are two series. A classic slave (no hello, no name) is labelled
// by its IP address without the port: the port changes with every
// reconnect and would create a new series each time. When several
// connections share a label, the gauges show the one with the highest
// acknowledged offset and the counters add them up. The counters are kept
// by the collector: it adds a closed connection's last observed counts to
// a running total per label (at most 1024 labels are remembered), so
// bytes sent after the last scrape or Sample before a disconnect are not
// counted (an undercount, never a reset).
//
// The slave's own written and synced ends come only from a slave that
// speaks the report extension (sidecar/haproto, report2.go); for a classic
// slave, whose one report is its acknowledgement, those series are
// absent (not copied from the acknowledgement) and
// hasidecar_master_slave_extended_reports is 0.
//
// The per-slave state is hasidecar_master_slave_state, not
// hasidecar_slave_state: the slave exports that name for itself with the
// label set {state}, and one name must not have two label sets (a process
// running both roles registers both collectors in one registry). Both use
// the states of sidecar.SlaveStates, every one exported (0 or 1).
//
// Lag in seconds comes from samples of the master's end offset taken by
// Sample (call it every second, or run Run) and at each scrape: it is the
// time since the first sample whose end exceeded the slave's acked offset,
// 0 when the slave is caught up. The collector keeps the last hour of
// samples; an older lag is reported as at least that hour.
//
// Slave (NewSlaveCollector):
//
//	hasidecar_slave_received_offset   gauge    end of the bytes received
//	hasidecar_slave_written_offset    gauge    end of the bytes written to the segment files
//	hasidecar_slave_synced_offset     gauge    end of the bytes fsynced and checkpointed
//	hasidecar_slave_reported_offset   gauge    last offset reported (acknowledged) to the master
//	hasidecar_slave_reconnects_total  counter  sessions started after the first
//	hasidecar_slave_state{state}      gauge    1 for the current state, 0 for the others
//	hasidecar_slave_scrub_verified_offset gauge  every byte from the first scrubbed up to it matched
//	hasidecar_slave_scrubbed_bytes_total  counter bytes the continuous scrub read back
//	hasidecar_slave_scrub_mismatches_total counter differing ranges the scrub found
//
// (The slave's own acknowledged offset is "reported", not "acked": the
// master already exports hasidecar_slave_acked_offset with a slave label,
// and one name must not have two label sets.)
//
// Sync commits (SyncMetrics, on the master):
//
//	hasidecar_sync_wait_seconds{status}  histogram  WAIT duration, 50us..10s
//	hasidecar_sync_results_total{status} counter    WAIT answers: OK, TIMEOUT, NOT_AVAILABLE
//
// Catalog gathers all of the above from the real collectors fed by fake
// sources: the monitoring tests and REFERENCE.md (hasidecar gen-docs) take
// the list of exported metrics from it.
//
// # HTTP
//
// Server serves GET /metrics (the Prometheus text or protobuf format,
// negotiated), GET /healthz (liveness: the process serves) and GET /readyz
// (readiness: the role can do its job, WithReady): each 200 "ok" while its
// function returns nil, else 503 with the error text. Without WithReady,
// /readyz answers what /healthz answers.
package metrics
