package ack

// STUB: replaced by the full implementation on merge.

// Diverge caps every slave's acknowledgement at at (its bytes above it are
// no longer the master's).
func (t *Tracker) Diverge(at int64, reason string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, s := range t.slaves {
		s.Acked = min(s.Acked, at)
	}
	t.recomputeLocked()
}

// Converged ends the diverged state.
func (t *Tracker) Converged() {}
