package sidecar

import (
	"context"
	"fmt"
	"net"
	"sync"
	"time"

	"go.uber.org/zap"
)

// reportSink is one session's report writer. Two goroutines report: the
// receiver right after it applied a frame (so an acknowledgement leaves
// without a hop to another goroutine, the synchronous commit's critical
// path), and the reporter for the first report, heartbeats and the sync
// ticker's progress. The lock keeps their reports in order: each reads
// the ackable end under it, so none goes out below one already sent.
type reportSink struct {
	mu   sync.Mutex
	conn net.Conn
	rp   *reporter
	last int64 // the last acknowledged end sent; -1: none yet
}

// send reports off (the ackable end when off < 0) when it moved or
// heartbeat is set; see reporter.next.
func (k *reportSink) send(s *Slave, off int64, heartbeat bool) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if off < 0 {
		off = s.ackable()
	}
	b, err := k.rp.next(s, off, heartbeat || off != k.last)
	if err != nil || b == nil {
		return err
	}
	k.conn.SetWriteDeadline(time.Now().Add(s.cfg.Housekeeping))
	if _, err := k.conn.Write(b); err != nil {
		return fmt.Errorf("send report %d: %w", off, err)
	}
	k.last = off
	s.acked.Store(off)
	return nil
}

// reportLoop sends the slave's end at once (the request: where to
// start), then the ackable end whenever the sync ticker moves it, and at
// least every Heartbeat; the receiver reports each applied frame itself
// (reportApplied).
func (s *Slave) reportLoop(ctx context.Context, conn net.Conn) error {
	k := &reportSink{conn: conn, rp: s.newReporter(), last: -1}
	if err := k.send(s, s.End(), false); err != nil {
		return err
	}
	s.sink.Store(k)
	defer s.sink.CompareAndSwap(k, nil)
	t := time.NewTicker(s.cfg.Heartbeat)
	defer t.Stop()
	for {
		heartbeat := false
		select {
		case <-ctx.Done():
			return nil
		case <-s.nudge:
		case <-t.C:
			heartbeat = true // a report even if nothing moved
		}
		if err := k.send(s, -1, heartbeat); err != nil {
			return err
		}
	}
}

// reportApplied reports a frame just applied, on the receiver's
// goroutine. A failed write closes the connection, which ends the session
// as the reporter's own failure would.
func (s *Slave) reportApplied() {
	k := s.sink.Load()
	if k == nil {
		s.poke() // before the first report: the reporter sends it
		return
	}
	if err := k.send(s, -1, false); err != nil {
		s.log.Warn("report after apply failed; dropping the connection", zap.Error(err))
		k.conn.Close()
	}
}
