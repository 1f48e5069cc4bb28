package sidecar

import (
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/hasidecar/hasidecar/tailer"
)

// maxDivergences bounds how many past divergences the master remembers to
// refuse slaves that still hold bytes from before a rewrite.
const maxDivergences = 64

// onDiverge is the tailer's divergence hook. It runs with the tailer's lock
// held, before the lowered end is visible: waiters over the rewritten range
// are answered NOT_AVAILABLE, every connection that was sent bytes above the
// divergence point is cut (its slave holds old bytes there, and no new byte
// may follow them), and positions reached with the old bytes stop vouching
// for a slave.
func (m *Master) onDiverge(d tailer.Divergence) {
	if !d.Active {
		m.tracker.Converged()
		m.log.Warn("master data consistent again after divergence", zap.Int64("offset", d.At))
		return
	}
	m.tracker.Diverge(d.At, d.Reason)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.divs = append(m.divs, d)
	if len(m.divs) > maxDivergences {
		m.divs = m.divs[1:]
	}
	m.known.dropAbove(d.At)
	for c := range m.conns {
		if sent := c.rep.Sent(); sent > d.At && c.streaming.Load() {
			c.rep.Taint()
			c.log.Error("cutting slave: it was sent master bytes that were rewritten; it must be truncated or reseeded",
				zap.Int64("divergence_offset", d.At), zap.Int64("sent_offset", sent))
			c.conn.Close()
		}
	}
}

// connEnded records where a connection stopped, so a classic slave that
// reconnects there is vouched for; a connection cut by a divergence
// vouches for nothing.
func (m *Master) connEnded(c *masterConn) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if c.rep.Tainted() {
		return
	}
	m.known.add(c.rep.Sent())
	m.known.add(c.rep.Reported())
}

// checkDiverged refuses a slave whose end lies above a divergence point it
// may have crossed with the old bytes: its end must be a position reached
// after the divergence, or a hello digest must cover the divergence point.
func (c *masterConn) checkDiverged(off int64) error {
	m := c.m
	m.mu.Lock()
	var hit *tailer.Divergence
	for i := range m.divs {
		if d := &m.divs[i]; d.At < off && (hit == nil || d.At < hit.At) {
			hit = d
		}
	}
	known := m.known.has(off)
	m.mu.Unlock()
	if hit == nil || known || (c.hello != nil && c.hello.TailStart <= hit.At) {
		return nil
	}
	return fmt.Errorf("slave holds data up to %d, above offset %d where the master's data was rewritten at %s (%s): "+
		"its bytes above %d may predate the rewrite; reseed the slave (slave --reseed) or truncate it to %d: %w",
		off, hit.At, hit.Since.UTC().Format(time.RFC3339), hit.Reason, hit.At, hit.At, ErrDiverged)
}

// Divergence returns the tailer's last divergence (zero when none).
func (m *Master) Divergence() tailer.Divergence { return m.tail.State().Diverged }

// Healthy is nil unless the master cannot serve what it holds: while a
// divergence is active (published bytes were rewritten and the new ones are
// not final yet) it returns why.
func (m *Master) Healthy() error {
	if d := m.Divergence(); d.Active {
		return fmt.Errorf("diverged: master data from offset %d was rewritten (%s); serving stops there until the new bytes are final", d.At, d.Reason)
	}
	return nil
}
