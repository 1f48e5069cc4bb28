package role

import (
	"fmt"

	"github.com/hasidecar/hasidecar/sidecar/config"
)

// Reload applies the reloadable settings of next (config.MasterReloadable:
// log-level, ack-policy, fallbehind-max, heartbeat, housekeeping) to the
// running master. next is validated as a whole first; if it is invalid,
// nothing is applied. Its other settings need a restart and are ignored.
func (r *Master) Reload(next config.Master) error {
	if err := next.Validate(); err != nil {
		return fmt.Errorf("reload master: %w", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.opts.setLevel(next.Log.Level); err != nil {
		return fmt.Errorf("reload master: %w", err)
	}
	r.tracker.SetPolicy(next.AckPolicy)
	r.tracker.SetFallbehindMax(next.FallbehindMax)
	r.m.SetTimeouts(next.Heartbeat, next.Housekeeping)
	r.cfg.Log.Level, r.cfg.AckPolicy, r.cfg.FallbehindMax = next.Log.Level, next.AckPolicy, next.FallbehindMax
	r.cfg.Heartbeat, r.cfg.Housekeeping = next.Heartbeat, next.Housekeeping
	return nil
}

// Config is the running configuration, reloaded settings included.
func (r *Master) Config() config.Master {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cfg
}
