package ack

// masterInfo is the master's own state as the sidecar describes it.
type masterInfo struct {
	state, reason string
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
