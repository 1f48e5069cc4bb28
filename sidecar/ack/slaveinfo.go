package ack

// masterInfo is the master's own state as the sidecar describes it.
type masterInfo struct {
	state, reason string
}

// SetSlaveState records a connected slave's name and replication state
// (the sidecar's names: "catching-up", "streaming", "stalled", ...) with
// its reason, for STATUS. An unknown id is ignored: the slave is gone.
func (t *Tracker) SetSlaveState(id, name, state, reason string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if s, ok := t.slaves[id]; ok {
		s.Name, s.State, s.Reason = name, state, reason
	}
}

// SetMasterState records the master's own state ("serving", "diverged",
// "stalled", "dir-missing") and its reason, for STATUS.
func (t *Tracker) SetMasterState(state, reason string) {
	t.mu.Lock()
	t.master = masterInfo{state: state, reason: reason}
	t.mu.Unlock()
}

// Connected returns how many slaves are connected and how many the
// policy needs before it can acknowledge anything: a readiness check.
func (t *Tracker) Connected() (n, need int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.slaves), t.policy.need()
}
