package sidecar

import (
	"sync"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// SlaveState names what a slave connection is doing. The same states
// describe one connection on the master and the slave's own view of its
// session, so that both ends, status and metrics use one vocabulary.
type SlaveState string

const (
	// SlaveConnecting: dialling, saying hello, or waiting for the first
	// report; nothing is streaming yet.
	SlaveConnecting SlaveState = "connecting"
	// SlaveCatchingUp: the slave is behind the master's end by more than
	// one send carries and the sender keeps finding data.
	SlaveCatchingUp SlaveState = "catching-up"
	// SlaveStreaming: the slave reached the master's end and stays close to it.
	SlaveStreaming SlaveState = "streaming"
	// SlaveStalled: connected but not moving (the reason says which side).
	SlaveStalled SlaveState = "stalled"
	// SlaveDiverged: the master's data was rewritten under what it sent, or
	// the slave holds bytes the master does not.
	SlaveDiverged SlaveState = "diverged"
	// SlaveNeedsReseed: the master no longer holds the slave's next offset.
	SlaveNeedsReseed SlaveState = "needs-reseed"
	// SlaveRefused: the master refused the slave for good (layout mismatch).
	SlaveRefused SlaveState = "refused"
	// SlaveWriteFailed: the slave cannot write what it receives; retrying.
	// Only the slave reports it.
	SlaveWriteFailed SlaveState = "write-failed"
)

// SlaveStates lists every SlaveState, for exporters that emit a 0 for the
// states a slave is not in.
var SlaveStates = []SlaveState{SlaveConnecting, SlaveCatchingUp, SlaveStreaming, SlaveStalled,
	SlaveDiverged, SlaveNeedsReseed, SlaveRefused, SlaveWriteFailed}

// level is the log level of entering the state: the bad states are
// warnings or errors, so an operator's alert on the log finds them.
func (s SlaveState) level() zapcore.Level {
	switch s {
	case SlaveStalled:
		return zapcore.WarnLevel
	case SlaveDiverged, SlaveNeedsReseed, SlaveRefused, SlaveWriteFailed:
		return zapcore.ErrorLevel
	}
	return zapcore.InfoLevel
}

// MasterState names whether the master can serve what its writer wrote.
type MasterState string

const (
	// MasterStarting: the tailer has not found the directory yet, for at
	// most startGrace after NewMaster; then it is dir-missing.
	MasterStarting MasterState = "starting"
	// MasterServing: the directory exists and its tail advances.
	MasterServing MasterState = "serving"
	// MasterDiverged: published bytes were rewritten on disk; serving stops
	// at the divergence point.
	MasterDiverged MasterState = "diverged"
	// MasterStalled: the tailer meets bytes the layout cannot validate;
	// nothing past them is served.
	MasterStalled MasterState = "stalled"
	// MasterDirMissing: the segment directory does not exist.
	MasterDirMissing MasterState = "dir-missing"
)

// MasterStates lists every MasterState, for exporters.
var MasterStates = []MasterState{MasterStarting, MasterServing, MasterDiverged, MasterStalled, MasterDirMissing}

func (s MasterState) level() zapcore.Level {
	if s == MasterServing || s == MasterStarting {
		return zapcore.InfoLevel
	}
	return zapcore.ErrorLevel
}

// stateCell holds one state machine's current state, with its reason and
// since when; set logs each change exactly once.
type stateCell[S ~string] struct {
	mu     sync.Mutex
	state  S
	reason string
	since  time.Time
}

func newStateCell[S ~string](s S) *stateCell[S] {
	return &stateCell[S]{state: s, since: time.Now()}
}

// set moves to s with reason and reports whether the state or its reason
// changed. A change of state is one log line at the new state's level,
// naming the old and new state and the reason; a new reason within the
// same state only replaces the reason (it would otherwise log on every
// evaluation).
func (c *stateCell[S]) set(log *zap.Logger, lvl zapcore.Level, s S, reason string) bool {
	c.mu.Lock()
	old, oldReason := c.state, c.reason
	c.reason = reason
	if old == s {
		c.mu.Unlock()
		return reason != oldReason
	}
	c.state, c.since = s, time.Now()
	c.mu.Unlock()
	logStateChange(log, lvl, string(old), string(s), reason)
	return true
}

// logStateChange is the one line a change of replication state logs.
func logStateChange(log *zap.Logger, lvl zapcore.Level, old, s, reason string) {
	if ce := log.Check(lvl, "replication state changed"); ce != nil {
		ce.Write(zap.String("old_state", old), zap.String("new_state", s), zap.String("reason", reason))
	}
}

// get returns the state, its reason and when it was entered.
func (c *stateCell[S]) get() (S, string, time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state, c.reason, c.since
}
