package sidecar

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/hasidecar/hasidecar/sidecar/haproto"
)

// lineageDivergence is a "diverged" refusal decided by lineage: it carries
// the offset below which every compared byte is equal, which the hello
// reply sends as Common so that a slave may truncate there.
type lineageDivergence struct {
	common int64
	err    error
}

func (e *lineageDivergence) Error() string { return e.err.Error() }
func (e *lineageDivergence) Unwrap() error { return e.err }

// compareLineage runs the hello's lineage round for a slave whose end is
// end: a sidecar that offers lineage entries (Hello.Lineage > 0) is asked
// for them with a non-final {"lineage":true} reply, its segments' rollups
// and tail are compared with the master's lineage, and when one differs the
// slave is asked for that segment's block CRCs (LineageOf) to name the first
// block that differs. A difference is ErrDiverged wrapped in a
// *lineageDivergence. Nothing happens for a slave that offers none or a
// master that keeps no lineage.
func (c *masterConn) compareLineage(ctx context.Context, end int64) error {
	h, f := c.hello, c.m.feed
	if h == nil || h.Lineage <= 0 || f == nil {
		return nil
	}
	st := c.m.tail.State()
	if st.Segments == 0 {
		return nil
	}
	// The feeder follows the tailer within milliseconds; at start it may be
	// back-filling, and what it has not hashed yet is skipped, not waited for.
	f.waitCovered(ctx, min(end, st.End), c.m.cfg.ReportGrace)
	c.conn.SetDeadline(time.Now().Add(c.m.idleLimit()))
	defer c.conn.SetDeadline(time.Time{})
	entries, err := c.askLineage(h.Lineage)
	if err != nil {
		return err
	}
	st = c.m.tail.State()
	cmp := newLineageCmp(f.store, c.m.layout.Info(), st.Oldest, st.End, end, *h)
	v, err := cmp.rollups(entries)
	if err == nil && v.ask != nil {
		v, err = c.askBlocks(cmp, *v.ask)
	}
	c.lineageSkipped = cmp.skipped
	if err != nil {
		return err
	}
	fields := []zap.Field{zap.Int("segments", len(entries)), zap.Int("compared", cmp.compared), zap.Int("not_compared", cmp.skipped)}
	if !v.diverged {
		c.log.Info("slave lineage matches the master's", fields...)
		return nil
	}
	c.log.Error("slave diverged from the master: lineage differs", append(fields, zap.Int64("common_offset", v.common),
		zap.Int64("end_offset", end), zap.String("reason", v.why))...)
	return &lineageDivergence{common: v.common, err: fmt.Errorf("slave lineage differs from the master's: %s; every compared byte below %d is equal (%d of the slave's segments not compared): the slave diverged: %w",
		v.why, v.common, cmp.skipped, ErrDiverged)}
}

// askLineage sends the non-final reply that asks for the entries and reads
// them.
func (c *masterConn) askLineage(n int) ([]haproto.SegLineage, error) {
	rep := haproto.HelloReply{Version: haproto.Version, Layout: haproto.FromInfo(c.m.layout.Info()), LineageWanted: true}
	if err := haproto.WriteHelloReply(c.conn, rep); err != nil {
		return nil, fmt.Errorf("ask for the slave's lineage: %w", err)
	}
	entries, err := haproto.ReadLineage(c.conn, n)
	if err != nil {
		return nil, fmt.Errorf("read the slave's lineage: %w", refusedIfBad(err))
	}
	return entries, nil
}

// askBlocks asks for the block CRCs of segment e and decides with them.
func (c *masterConn) askBlocks(cmp *lineageCmp, e haproto.SegLineage) (lineageVerdict, error) {
	base := e.Base
	rep := haproto.HelloReply{Version: haproto.Version, Layout: haproto.FromInfo(c.m.layout.Info()), LineageOf: &base}
	if err := haproto.WriteHelloReply(c.conn, rep); err != nil {
		return lineageVerdict{}, fmt.Errorf("ask for the slave's block CRCs of segment %d: %w", base, err)
	}
	crcs, err := haproto.ReadBlockCRCs(c.conn, int(e.Blocks))
	if err != nil {
		return lineageVerdict{}, fmt.Errorf("read the slave's block CRCs of segment %d: %w", base, refusedIfBad(err))
	}
	return cmp.blocks(e, crcs)
}

// refusedIfBad makes a malformed message from the slave a refusal for good:
// retrying sends the same bytes.
func refusedIfBad(err error) error {
	if errors.Is(err, haproto.ErrBadHello) {
		return fmt.Errorf("%w: %w", err, ErrRefused)
	}
	return err
}
