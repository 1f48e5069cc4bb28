package sidecar

import (
	"context"
	"errors"
	"fmt"
	"hash/crc32"

	"go.uber.org/zap"

	"github.com/hasidecar/hasidecar/plugins"
	"github.com/hasidecar/hasidecar/sidecar/haproto"
	"github.com/hasidecar/hasidecar/tailer"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// startPosition decides where to start sending for a first report, or
// explains why the master cannot serve it.
func (c *masterConn) startPosition(ctx context.Context, first int64) (int64, error) {
	if first == 0 {
		return c.initialPosition(ctx)
	}
	m := c.m
	st, ok := m.waitFor(ctx, m.cfg.ReportGrace, func(s tailer.State) bool { return s.Segments > 0 && s.End >= first })
	// Lineage first: it names where a diverged slave's bytes stop agreeing,
	// which the tail digest and the end comparison below cannot.
	if err := c.compareLineage(ctx, first); err != nil {
		return 0, err
	}
	if !ok {
		if err := c.checkDiverged(first); err != nil && first > st.End {
			return 0, err // the better explanation: the master's data above it was rewritten
		}
		if st.Segments > 0 && first > st.End {
			return 0, fmt.Errorf("slave offset %d is beyond the master's end %d (a slave ahead of its master has diverged): %w", first, st.End, ErrDiverged)
		}
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		return 0, fmt.Errorf("slave offset %d but the master holds no segments: %w", first, ErrUnservable)
	}
	if first < st.Oldest {
		return 0, fmt.Errorf("slave offset %d is below the master's oldest segment %d, deleted by retention: %w", first, st.Oldest, ErrNeedsReseed)
	}
	if err := c.vouch(first); err != nil {
		return 0, err
	}
	return first, nil
}

// initialPosition applies the --initial rule for a slave that holds nothing.
// An empty master directory is waited for: the slave starts at the first
// segment that appears.
func (c *masterConn) initialPosition(ctx context.Context) (int64, error) {
	st, ok := c.m.waitFor(ctx, c.m.idleLimit(), func(s tailer.State) bool { return s.Segments > 0 })
	if !ok {
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		return 0, fmt.Errorf("master directory holds no segment yet: %w", ErrUnservable)
	}
	if c.m.cfg.Initial == InitialLastSegment {
		return plugins.SegmentStart(c.m.layout.Info(), st.End), nil
	}
	return st.Oldest, nil
}

// vouch checks that the master can stand behind a slave's non-zero offset:
// a sidecar's tail digest must match the master's bytes; a classic slave's
// offset must be a record boundary or a position an earlier connection reached.
func (c *masterConn) vouch(off int64) error {
	if err := c.checkDiverged(off); err != nil {
		return err
	}
	if h := c.hello; h != nil {
		// The digest must cover exactly what a slave computes: up to
		// TailWindow bytes below its end, within the segment of its last
		// byte. A shorter one (an empty one compares nothing) proves nothing.
		if want := max(plugins.SegmentStart(c.m.layout.Info(), off-1), off-haproto.TailWindow); h.TailStart != want {
			return fmt.Errorf("hello tail digest starts at %d, want %d for an end of %d: %w: %w", h.TailStart, want, off, haproto.ErrBadHello, ErrRefused)
		}
		if err := c.checkTail(h.TailStart, off, h.TailCRC); err != nil {
			return err
		}
		if err := c.prove(); err != nil {
			return err
		}
		c.proved = true
		return nil
	}
	if c.m.known.has(off) { // below any divergence point (checkDiverged)
		return nil
	}
	ok, err := c.m.tail.IsBoundary(off)
	if err != nil {
		return fmt.Errorf("check slave offset %d: %w", off, err)
	}
	if !ok {
		return fmt.Errorf("slave offset %d is not a record boundary the master knows: %w", off, ErrUnservable)
	}
	return nil
}

// checkTail compares the slave's digest of [from, to) with the master's bytes.
func (c *masterConn) checkTail(from, to int64, want uint32) error {
	crc, err := c.masterCRC(from, to)
	if err != nil {
		return err
	}
	if crc != want {
		c.log.Error("slave diverged from master", zap.Int64("tail_start", from), zap.Int64("tail_end", to))
		return fmt.Errorf("slave bytes [%d, %d) differ from the master's: the slave diverged: %w", from, to, ErrDiverged)
	}
	return nil
}

// masterCRC is the CRC-32C of the master's bytes [from, to).
func (c *masterConn) masterCRC(from, to int64) (uint32, error) {
	crc := uint32(0)
	for pos := from; pos < to; {
		ch, err := c.m.tail.Read(pos, int(to-pos))
		if err != nil {
			if errors.Is(err, tailer.ErrGone) {
				return 0, fmt.Errorf("master bytes at %d to compare with the slave's: %w", pos, ErrNeedsReseed)
			}
			return 0, fmt.Errorf("read master bytes at %d to compare with the slave's: %w", pos, err)
		}
		if len(ch.Data) == 0 {
			ch.Release()
			return 0, fmt.Errorf("master bytes at %d are not available to compare with the slave's: %w", pos, ErrUnservable)
		}
		crc = crc32.Update(crc, castagnoli, ch.Data)
		pos += int64(len(ch.Data))
		ch.Release()
	}
	return crc, nil
}
