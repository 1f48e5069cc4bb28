package sidecar

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"time"

	"go.uber.org/zap"

	"github.com/hasidecar/hasidecar/sidecar/haproto"
	"github.com/hasidecar/hasidecar/tailer"
)

// maxWritev bounds how many bytes one writev gathers from several frames.
const maxWritev = 512 << 10

// send streams frames from start until ctx ends or the connection fails.
func (c *masterConn) send(ctx context.Context, start int64) error {
	zc, err := newSplicer(c.conn)
	if err != nil {
		c.log.Warn("zero-copy send unavailable; copying frames", zap.Error(err))
	}
	if zc != nil {
		c.zc = zc
		defer func() { zc.close(); c.zc = nil }()
	}
	pos := start
	lastWrite := time.Now()
	hb := time.NewTimer(c.m.heartbeatEvery())
	defer hb.Stop()
	for ctx.Err() == nil {
		changed := c.m.tail.Changed()
		n, err := c.sendAvailable(pos)
		if err != nil {
			return err
		}
		if n > 0 {
			pos += n
			lastWrite = time.Now()
			c.evaluate(c.m.tail.State(), lastWrite) // a backlog is catching-up at once
			continue
		}
		if !c.reachedEnd.Swap(true) {
			c.evaluate(c.m.tail.State(), time.Now()) // at the end: streaming at once
		}
		hb.Reset(c.m.heartbeatEvery() - time.Since(lastWrite))
		select {
		case <-ctx.Done():
			return nil
		case <-changed:
		case <-hb.C:
			if err := c.writeFrames(pos, nil); err != nil {
				return err
			}
			lastWrite = time.Now()
		}
	}
	return nil
}

// sendAvailable writes the frames the tailer can give from pos in one
// gathered write; it returns the number of body bytes sent.
func (c *masterConn) sendAvailable(pos int64) (int64, error) {
	chunks := c.chunks[:0] // reused: one gathered write per wake-up, for every frame
	defer func() {
		for i := range chunks {
			chunks[i].Release()
		}
		clear(chunks)
		c.chunks = chunks[:0]
	}()
	total := int64(0)
	for total < maxWritev {
		ch, err := c.m.tail.Read(pos+total, c.m.cfg.Batch)
		if err != nil {
			if errors.Is(err, tailer.ErrGone) {
				return 0, fmt.Errorf("offset %d is no longer on the master (retention deleted it); reseed the slave: %w", pos+total, ErrNeedsReseed)
			}
			if errors.Is(err, tailer.ErrBeyondEnd) {
				return 0, fmt.Errorf("master data below offset %d, already sent to this slave, was rewritten: %w", pos+total, ErrDiverged)
			}
			return 0, fmt.Errorf("read master data at %d: %w", pos+total, err)
		}
		if len(ch.Data) == 0 {
			ch.Release()
			break
		}
		chunks = append(chunks, ch)
		total += int64(len(ch.Data))
	}
	if total == 0 {
		return 0, nil
	}
	return total, c.writeFrames(pos, chunks)
}

// writeFrames sends the chunks as frames in one writev, or a heartbeat at
// pos when there are none. The sent offset moves before the write so that a
// fast slave's acknowledgement is never mistaken for a lie.
func (c *masterConn) writeFrames(pos int64, chunks []tailer.Chunk) error {
	n := haproto.HeaderSize * max(1, len(chunks))
	hdrs := slices.Grow(c.hdrs[:0], n)[:n]
	bufs := c.bufs[:0]
	defer func() { clear(bufs); c.hdrs, c.bufs = hdrs, bufs[:0] }()
	if len(chunks) == 0 {
		haproto.PutHeader(hdrs, haproto.Header{Offset: pos})
		bufs = append(bufs, hdrs)
	}
	end := pos
	for i, ch := range chunks {
		h := hdrs[i*haproto.HeaderSize : (i+1)*haproto.HeaderSize]
		haproto.PutHeader(h, haproto.Header{Offset: ch.Offset, Size: int32(len(ch.Data))})
		bufs = append(bufs, h, ch.Data)
		end = ch.Offset + int64(len(ch.Data))
	}
	c.rep.SetSent(end, end-pos, int64(max(1, len(chunks))))
	c.conn.SetWriteDeadline(time.Now().Add(c.m.idleLimit()))
	if err := c.writeOut(hdrs, bufs, chunks); err != nil {
		return fmt.Errorf("write frames at %d: %w", pos, err)
	}
	c.rep.SetWritten(end)
	if r := c.rep.Reported(); r > pos {
		// A fast slave acknowledged bytes of this write before it returned.
		c.m.tracker.Ack(c.id, min(r, end))
	}
	return nil
}

// writeOut sends the frames: bodies spliced from the mapping on plain
// TCP, else bufs (headers and bodies in order) with one writev. The writev
// goes to the connection under bufferedConn: net.Buffers gathers only on
// a socket it knows, and would otherwise write each header as its own
// packet.
func (c *masterConn) writeOut(hdrs []byte, bufs net.Buffers, chunks []tailer.Chunk) error {
	if c.zc != nil && len(chunks) > 0 {
		return c.zc.writeFrames(hdrs, chunks)
	}
	conn := c.conn
	if bc, ok := conn.(*bufferedConn); ok {
		conn = bc.Conn
	}
	_, err := bufs.WriteTo(conn) // consumes its copy of the slice; the caller's keeps the array
	return err
}

// readAcks reads the slave's reports until the connection fails. A slave
// silent for Housekeeping is dropped (its heartbeat reports count as
// activity). It continues c.rr, which may hold a partial report from the
// handshake's reads.
func (c *masterConn) readAcks(ctx context.Context) error {
	return c.readLoop(ctx, func(p []byte) error {
		if last, ok := c.rr.Feed(p); ok {
			return c.ack(last)
		}
		return nil
	})
}

// readLoop hands what the slave sends to feed until the connection fails
// or feed does. A slave silent for Housekeeping is dropped.
func (c *masterConn) readLoop(ctx context.Context, feed func([]byte) error) error {
	buf := make([]byte, readBuf)
	for {
		c.conn.SetReadDeadline(time.Now().Add(c.m.idleLimit()))
		n, err := c.conn.Read(buf)
		if n > 0 {
			if err := feed(buf[:n]); err != nil {
				return err
			}
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("read acknowledgements: %w", err)
		}
	}
}

func (c *masterConn) ack(off int64) error {
	if off < 0 {
		return fmt.Errorf("acknowledged offset %d: %w", off, haproto.ErrBadReport)
	}
	if sent := c.rep.Sent(); off > sent {
		return fmt.Errorf("slave acknowledged %d but was sent only up to %d: %w", off, sent, ErrLie)
	}
	if c.rep.Report(off) {
		// Only bytes the socket took count: a peer that acks what is still
		// waiting in a blocked write has not been carried those bytes. The
		// tracker ignores a tainted replica: it holds rewritten bytes.
		c.m.tracker.Ack(c.id, min(off, c.rep.Written()))
		if cur, _, _ := c.rep.State(); SlaveState(cur) != SlaveStreaming {
			c.evaluate(c.m.tail.State(), time.Now()) // may have caught up, or moved again
		}
	}
	return nil
}
