package sidecar

import (
	"time"

	"github.com/hasidecar/hasidecar/sidecar/ack"
	"github.com/hasidecar/hasidecar/tailer"
)

// SlaveConnStats is the master's view of one slave connection: a copy of
// its ack.Replica, the one record the tracker, status and metrics share.
// State holds a SlaveState's name.
type SlaveConnStats = ack.ReplicaStatus

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
	// Lineage is the master's lineage feeder (master_feed.go); Digest what
	// the digest channel served (master_digest.go).
	Lineage LineageStats
	Digest  DigestStats
}

// SlaveStats is a point-in-time view of a slave, for status and metrics.
type SlaveStats struct {
	Name    string
	State   SlaveState
	Reason  string // why State, for the states other than streaming
	Master  string
	Written int64 // applier's End
	// Scrub progress (slave_scrub.go): every byte from the first one
	// scrubbed up to ScrubVerified was read back and matched; bytes read;
	// blocks found differing.
	ScrubVerified   int64
	ScrubBytes      int64
	ScrubMismatches int64
	Synced          int64 // applier's Synced: fsynced and checkpointed
	Acked           int64 // last offset reported to the master
	Reconnects      int64 // sessions started after the first
	LastError       string
	Since           time.Time // when State was entered
}
