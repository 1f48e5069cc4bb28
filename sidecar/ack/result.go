package ack

import (
	"strconv"
	"time"
)

// Status is the outcome of a WAIT.
type Status uint8

const (
	// OK: the policy's committed offset reached the waited offset.
	OK Status = iota + 1
	// Timeout: the wait's deadline passed (or its context ended) first.
	Timeout
	// NotAvailable: answered at once; too few slaves, or too far behind.
	NotAvailable
)

// String returns the protocol name of the status.
func (s Status) String() string {
	switch s {
	case OK:
		return "OK"
	case Timeout:
		return "TIMEOUT"
	case NotAvailable:
		return "NOT_AVAILABLE"
	}
	return "Status(" + strconv.Itoa(int(s)) + ")"
}

// MarshalText renders the status name in JSON.
func (s Status) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Result answers a WAIT. Acked is the policy's committed offset when the
// answer was made (-1 when the policy has too few slaves to define one);
// Reason explains a NotAvailable or Timeout.
type Result struct {
	Status Status `json:"status"`
	Acked  int64  `json:"acked"`
	Reason string `json:"reason,omitempty"`
}

// ReplicaStatus is a point-in-time copy of one slave connection's Replica.
// Over the wire (STATUS) travel ID, Addr, Sent, Acked and ConnectedAt;
// Name, State and Reason need QUERY_EXT (doc.go); the rest stays local.
type ReplicaStatus struct {
	ID   string `json:"id"`
	Addr string `json:"addr"`
	// Name, State and Reason are the master's description of the
	// connection (sidecar.SlaveState names).
	Name         string    `json:"name,omitempty"`
	Sidecar      bool      `json:"-"`
	State        string    `json:"state,omitempty"`
	Reason       string    `json:"reason,omitempty"`
	StateSince   time.Time `json:"-"`
	Sent         int64     `json:"sent"`
	Reported     int64     `json:"-"` // the last report, counted or not
	Acked        int64     `json:"acked"`
	BytesSent    int64     `json:"-"`
	FramesSent   int64     `json:"-"`
	ConnectedAt  time.Time `json:"connected_at"`
	LastReportAt time.Time `json:"-"`
	// AckLag is Replica.AckLag: from the master's write to the slave's
	// report of it, for the last report that advanced.
	AckLag time.Duration `json:"-"`
	// Reports is the connection's report format: 1 classic (one offset,
	// the acknowledgement: the slave's written and synced ends are
	// unknown), 2 extended (haproto.Report2); 0 when not known (not
	// streaming yet, or a server that predates it).
	Reports int `json:"-"`
	// SlaveWritten and SlaveSynced are the ends the slave reported it
	// wrote and fsynced (extended reports only; -1 when unknown), and
	// WriteLag and FlushLag the time from the master's write of the bytes
	// to the report showing them written / synced, measured on the last
	// report that moved each (-1 when unknown).
	SlaveWritten int64         `json:"-"`
	SlaveSynced  int64         `json:"-"`
	WriteLag     time.Duration `json:"-"`
	FlushLag     time.Duration `json:"-"`
}

// Snapshot is a consistent view of the tracker, the answer to QUERY.
type Snapshot struct {
	MasterEnd     int64           `json:"master_end"`
	Policy        Policy          `json:"policy"`
	FallbehindMax int64           `json:"fallbehind_max"`
	Committed     int64           `json:"committed"`
	Slaves        []ReplicaStatus `json:"slaves"`
	// Divergence is the zero value unless the tracker is diverged. Over
	// the wire it needs QUERY_EXT (doc.go); a QUERY's STATUS lacks it.
	Divergence Divergence `json:"divergence"`
	// MasterState and MasterReason describe the master itself
	// (sidecar.MasterState names); over the wire they need QUERY_EXT.
	MasterState  string `json:"master_state,omitempty"`
	MasterReason string `json:"master_reason,omitempty"`
}
