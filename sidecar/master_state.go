package sidecar

import (
	"context"
	"fmt"
	"time"

	"github.com/hasidecar/hasidecar/tailer"
)

// Distances that separate catching-up from streaming. A connection enters
// streaming when its slave is at most streamGap behind the master's end
// (about what one gathered send carries) and leaves it for catching-up
// only beyond catchUpGap: a slave streaming a busy writer's output lags by
// what is in flight, and must not flap between the two.
const (
	streamGap  = maxWritev
	catchUpGap = 4 * maxWritev
)

// stallAfter is how long a slave's acknowledgements may stand still while
// the master has data beyond them before the connection counts as stalled.
func (m *Master) stallAfter() time.Duration {
	if m.cfg.StallAfter > 0 {
		return m.cfg.StallAfter
	}
	return 3 * m.heartbeatEvery()
}

// stateTick is how often the master re-evaluates states: often enough
// that a stall is seen within a quarter of StallAfter, at most once a second.
func (m *Master) stateTick() time.Duration {
	return min(max(m.stallAfter()/4, 10*time.Millisecond), time.Second)
}

// watchStates re-evaluates the master's own state and every streaming
// connection's whenever the tailer publishes and on a tick, so that a
// change is logged and exported even while a sender is blocked in a write
// and nobody asks for Stats.
func (m *Master) watchStates(ctx context.Context) {
	t := time.NewTicker(m.stateTick())
	defer t.Stop()
	for {
		changed := m.tail.Changed()
		m.evaluate(time.Now())
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-changed:
		}
	}
}

// evaluate updates the master's state and each streaming connection's. It
// takes the tailer's state before m.mu: onDiverge runs under the tailer's
// lock and takes m.mu, so the other order would deadlock.
func (m *Master) evaluate(now time.Time) {
	st := m.tail.State()
	s, reason := masterStateOf(st, now.Sub(m.started) < startGrace)
	if m.state.set(m.log, s.level(), s, reason) {
		m.tracker.SetMasterState(string(s), reason)
	}
	for _, c := range m.streamingConns() {
		c.evaluate(st, now)
	}
}

// setName marks c as a sidecar named name (kept as its address:port when
// empty) and returns the id of another connection that goes by that name,
// or "". Under m.mu: other connections' names are read here.
func (m *Master) setName(c *masterConn, name string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	c.rep.SetName(name, true)
	if name == "" {
		return ""
	}
	for o := range m.conns {
		if o != c && o.rep.IsSidecar() && o.rep.Name() == name {
			return o.id
		}
	}
	return ""
}

func (m *Master) streamingConns() []*masterConn {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]*masterConn, 0, len(m.conns))
	for c := range m.conns {
		if c.streaming.Load() {
			out = append(out, c)
		}
	}
	return out
}

// startGrace is how long a master may wait for its tailer's first scan
// before a directory not found is dir-missing: longer than the tailer's
// default rescan interval.
const startGrace = 2 * time.Second

// masterStateOf derives the master's state from its tailer's; starting
// says the tailer may not have looked at the directory yet.
func masterStateOf(st tailer.State, starting bool) (MasterState, string) {
	switch {
	case !st.DirExists && starting:
		return MasterStarting, "waiting for the tailer's first scan of the segment directory"
	case !st.DirExists:
		return MasterDirMissing, "the segment directory does not exist"
	case st.Diverged.Active:
		d := st.Diverged
		return MasterDiverged, fmt.Sprintf("master data from offset %d was rewritten (%s); serving stops there until the new bytes are final", d.At, d.Reason)
	case st.Stalled.Active:
		return MasterStalled, stallReason(st.Stalled)
	}
	return MasterServing, ""
}

func stallReason(s tailer.Stall) string {
	return fmt.Sprintf("master tail stalled at offset %d in segment %s: %s; nothing past it is served", s.Offset, s.Segment, s.Reason)
}

// evaluate judges the connection's state from the tailer's state st and
// records it; a change is logged once and handed to the tracker for STATUS.
func (c *masterConn) evaluate(st tailer.State, now time.Time) {
	c.evalMu.Lock()
	defer c.evalMu.Unlock()
	s, reason := c.judge(st, now)
	c.setState(s, reason)
}

// setState records the connection's state in its replica and logs a change
// of state once, at the new state's level.
func (c *masterConn) setState(s SlaveState, reason string) {
	if old, _ := c.rep.SetState(string(s), reason); old != string(s) {
		logStateChange(c.log, s.level(), old, string(s), reason)
	}
}

// judge applies the state rules in order of severity. Caller holds evalMu.
func (c *masterConn) judge(st tailer.State, now time.Time) (SlaveState, string) {
	sent, acked := c.rep.Sent(), c.rep.Reported()
	if c.rep.Tainted() {
		return SlaveDiverged, fmt.Sprintf("cut: it was sent master bytes up to %d that were rewritten from offset %d; truncate or reseed it", sent, st.Diverged.At)
	}
	if d := st.Diverged; d.Active {
		return SlaveDiverged, fmt.Sprintf("master data from offset %d was rewritten (%s); serving stops there", d.At, d.Reason)
	}
	if st.Stalled.Active {
		return SlaveStalled, stallReason(st.Stalled)
	}
	return c.judgeProgress(st.End, sent, acked, now)
}

// judgeProgress tells catching-up, streaming and a stalled slave apart by
// how far its acknowledgements are behind end and how long they stood
// still while behind. Caller holds evalMu.
func (c *masterConn) judgeProgress(end, sent, acked int64, now time.Time) (SlaveState, string) {
	curName, reason, _ := c.rep.State()
	cur := SlaveState(curName)
	behind := end - acked
	if behind <= 0 {
		c.behindSince = time.Time{}
		if !c.reachedEnd.Load() && cur == SlaveConnecting {
			return cur, reason // streaming once the sender found nothing more to send
		}
		return SlaveStreaming, ""
	}
	if c.behindSince.IsZero() {
		c.behindSince = now
	}
	from := c.behindSince
	if adv := c.rep.AdvancedAt(); adv.After(from) {
		from = adv
	}
	if still := now.Sub(from); still >= c.m.stallAfter() {
		return SlaveStalled, fmt.Sprintf("no acknowledgement progress for %s although the master has %d bytes beyond it (acked %d, sent %d, master end %d)",
			still.Truncate(time.Millisecond), behind, acked, sent, end)
	}
	if behind > catchUpGap || (cur != SlaveStreaming && behind > streamGap) {
		return SlaveCatchingUp, fmt.Sprintf("%d bytes behind the master's end %d", behind, end)
	}
	if cur == SlaveConnecting && !c.reachedEnd.Load() {
		return cur, reason
	}
	return SlaveStreaming, ""
}

// Ready is nil while the master can do its job: its directory exists, its
// data neither diverged nor stalled, as many slaves are connected as the
// ack policy needs, and none of them is stalled or diverged. Otherwise it
// says why (ErrNotReady). Liveness is Healthy.
func (m *Master) Ready() error {
	st := m.Stats()
	if st.State != MasterServing {
		return fmt.Errorf("master is %s: %s: %w", st.State, st.StateReason, ErrNotReady)
	}
	if n, need := m.tracker.Connected(); n < need {
		return fmt.Errorf("the ack policy needs %d connected slave(s), %d connected: %w", need, n, ErrNotReady)
	}
	for _, s := range st.Slaves {
		if st := SlaveState(s.State); st == SlaveStalled || st == SlaveDiverged {
			return fmt.Errorf("slave %s (%s) is %s: %s: %w", s.Name, s.Addr, s.State, s.Reason, ErrNotReady)
		}
	}
	return nil
}
