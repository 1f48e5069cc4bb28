package sidecar

import (
	"time"

	"github.com/hasidecar/hasidecar/tailer"
)

// SlaveConnStats is the master's view of one slave connection.
type SlaveConnStats struct {
	ID   string
	Addr string
	// Name is the slave's name from its hello (SlaveConfig.Name); a
	// classic slave, which sends no hello, is named by its address:port.
	Name string
	// Sidecar is true when the slave sent a hello (it has a stable name).
	Sidecar     bool
	State       SlaveState
	Reason      string    // why State, for the bad states
	StateSince  time.Time // when State was entered
	Sent        int64     // end of the bytes handed to the socket
	Acked       int64     // last acknowledged offset
	BytesSent   int64     // body bytes sent on this connection
	FramesSent  int64     // frames sent on this connection, heartbeats included
	ConnectedAt time.Time
	LastAckAt   time.Time
}

// MasterStats is a point-in-time view of the master, for status and metrics.
type MasterStats struct {
	State       MasterState
	StateReason string
	End         int64 // the tailer's published safe end
	Oldest      int64 // start of the oldest segment served
	Segments    int
	Slaves      []SlaveConnStats
	Connections int64 // slave connections accepted since start
	Refused     int64 // connections refused (cap, allow-list, bad first report, ...)
	// Diverged is the last divergence of the master's data (published bytes
	// rewritten on disk); Active while serving stops at Diverged.At.
	Diverged tailer.Divergence
	// Stalled is set while the tail cannot advance past bytes the layout
	// does not accept.
	Stalled tailer.Stall
}

// SlaveStats is a point-in-time view of a slave, for status and metrics.
type SlaveStats struct {
	Name       string
	State      SlaveState
	Reason     string // why State, for the states other than streaming
	Master     string
	Written    int64 // applier's End
	Synced     int64 // applier's Synced: fsynced and checkpointed
	Acked      int64 // last offset reported to the master
	Reconnects int64 // sessions started after the first
	LastError  string
	Since      time.Time // when State was entered
}
