package sidecar

import (
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/hasidecar/hasidecar/plugins"
	"github.com/hasidecar/hasidecar/sidecar/haproto"
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
	if m.feed != nil {
		m.feed.noteDiverge(d.At)
	}
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

// checkDiverged decides what a slave whose end lies above remembered
// divergence points must prove. A position an earlier connection reached
// says nothing about which bytes this slave holds there, so it vouches for
// nothing above a divergence point. A sidecar slave's tail digest covers the
// points inside it; for the others the master challenges a sidecar that
// answers proofs (c.challenge, checked by prove). A classic slave, or a
// sidecar that cannot answer, above a divergence point is refused.
func (c *masterConn) checkDiverged(off int64) error {
	divs := c.m.divergencesBelow(off)
	var ranges []haproto.Range
	for _, d := range divs {
		if c.hello == nil || (c.hello.TailStart > d.At && !c.hello.Proofs) {
			return divergedError(off, d)
		}
		if c.hello.TailStart > d.At && len(ranges) < haproto.MaxProofRanges {
			ranges = append(ranges, c.m.proofRange(d.At, off))
		}
	}
	c.challenge = ranges
	return nil
}

// divergencesBelow returns the remembered divergence points below off.
func (m *Master) divergencesBelow(off int64) []tailer.Divergence {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []tailer.Divergence
	for _, d := range m.divs {
		if d.At < off {
			out = append(out, d)
		}
	}
	return out
}

// proofRange is the range a slave must prove for a divergence at at: the
// block that changed first (the tailer locates a rewrite in place to a
// 64 KiB block), within at's segment and below the slave's end.
func (m *Master) proofRange(at, end int64) haproto.Range {
	segEnd := plugins.SegmentStart(m.layout.Info(), at) + m.layout.Info().SegmentSize
	return haproto.Range{From: at, To: min(at+haproto.MaxProofRange, end, segEnd)}
}

func divergedError(off int64, d tailer.Divergence) error {
	return fmt.Errorf("slave holds data up to %d, above offset %d where the master's data was rewritten at %s (%s), "+
		"and cannot prove its bytes there are the new ones: reseed the slave (slave --reseed) or truncate it to %d: %w",
		off, d.At, d.Since.UTC().Format(time.RFC3339), d.Reason, d.At, ErrDiverged)
}

// prove challenges the slave for c.challenge and compares its CRCs with
// the master's bytes; a difference means the slave holds old bytes there.
func (c *masterConn) prove() error {
	if len(c.challenge) == 0 {
		return nil
	}
	c.conn.SetDeadline(time.Now().Add(c.m.idleLimit()))
	defer c.conn.SetDeadline(time.Time{})
	rep := haproto.HelloReply{Version: haproto.Version, Layout: haproto.FromInfo(c.m.layout.Info()), Prove: c.challenge}
	if err := haproto.WriteHelloReply(c.conn, rep); err != nil {
		return fmt.Errorf("send proof challenge: %w", err)
	}
	p, err := haproto.ReadProof(c.conn, len(c.challenge))
	if err != nil {
		return fmt.Errorf("read proof: %w", err)
	}
	for i, r := range c.challenge {
		want, err := c.masterCRC(r.From, r.To)
		if err != nil {
			return err
		}
		if p.CRCs[i] != want {
			c.log.Error("slave holds old bytes at a divergence point", zap.Int64("divergence_offset", r.From), zap.Int64("end", r.To))
			return fmt.Errorf("slave bytes [%d, %d) are not the master's since its data there was rewritten: reseed the slave (slave --reseed): %w",
				r.From, r.To, ErrDiverged)
		}
	}
	return nil
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
