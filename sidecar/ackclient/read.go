package ackclient

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/hasidecar/hasidecar/sidecar/ack"
)

// inKeep is the largest read buffer kept after a large answer (a QUERY
// of many slaves); MaxResponse bounds what one frame may need.
const (
	inFirst = 4 << 10
	inKeep  = 64 << 10
)

// awaitAnswer waits for id's answer on ch. Whoever holds the read turn
// reads the connection for everyone; a caller without it waits on ch for
// its answer or for the turn. end or, when limit is set, the limit end
// the wait (ErrNoAnswer for the limit).
func (c *Client) awaitAnswer(end endsBy, id uint32, ch chan ack.Response, limit time.Duration) (ack.Response, error) {
	var deadline time.Time
	if limit > 0 {
		deadline = time.Now().Add(limit)
	}
	select { // the turn is free when no other call is in flight: no timer then
	case resp, ok := <-ch:
		return c.answer(resp, ok)
	case <-c.rd:
		return c.readTurn(end, id, ch, deadline)
	default:
	}
	var expired <-chan time.Time
	if limit > 0 {
		t := time.NewTimer(time.Until(deadline))
		defer t.Stop()
		expired = t.C
	}
	done := end.ctx.Done()
	for {
		select {
		case resp, ok := <-ch:
			return c.answer(resp, ok)
		case <-c.rd:
			return c.readTurn(end, id, ch, deadline)
		case <-done:
			if err := end.err(); err != nil {
				c.unregister(id)
				return ack.Response{}, err
			}
			done = nil // the deadline passed: the server's answer to it is due
		case <-expired:
			c.unregister(id)
			return ack.Response{}, ErrNoAnswer
		}
	}
}

// readTurn reads for everyone until id's answer is in, then passes the
// read turn on.
func (c *Client) readTurn(end endsBy, id uint32, ch chan ack.Response, deadline time.Time) (ack.Response, error) {
	resp, ok, err := c.readFor(end, ch, deadline)
	c.rd <- struct{}{} // the next waiter reads
	if err == nil {
		return c.answer(resp, ok)
	}
	c.unregister(id)
	return ack.Response{}, err
}

func (c *Client) answer(resp ack.Response, ok bool) (ack.Response, error) {
	if !ok {
		return ack.Response{}, c.brokenErr()
	}
	if resp.Err != nil {
		return ack.Response{}, resp.Err
	}
	return resp, nil
}

// readFor reads and delivers answers, holding the read turn, until ch has
// one. end or deadline passing stops it with end's error or ErrNoAnswer;
// a connection failure fails the client, which closes ch.
func (c *Client) readFor(end endsBy, ch chan ack.Response, deadline time.Time) (ack.Response, bool, error) {
	if ctx := end.ctx; ctx.Done() != nil {
		// A read blocked in the kernel does not see ctx: a deadline in
		// the past ends it. The next reader sets its own deadline again
		// and takes a stray timeout for what it is (see below).
		stop := context.AfterFunc(ctx, func() { c.c.SetReadDeadline(time.Unix(1, 0)) })
		defer stop()
	}
	c.c.SetReadDeadline(deadline)
	for {
		if err := c.deliver(); err != nil {
			c.fail(err)
		}
		select {
		case resp, ok := <-ch:
			return resp, ok, nil
		default:
		}
		if err := end.err(); err != nil {
			return ack.Response{}, false, err
		}
		if !deadline.IsZero() && !time.Now().Before(deadline) {
			return ack.Response{}, false, ErrNoAnswer
		}
		if err := c.fill(); errors.Is(err, os.ErrDeadlineExceeded) {
			c.c.SetReadDeadline(deadline) // ours, or another caller's ctx: checked above
		} else if err != nil {
			c.fail(err)
		}
	}
}

// fill reads what the connection has into c.in, growing it when a frame
// needs more room.
func (c *Client) fill() error {
	if len(c.in) == cap(c.in) {
		need := max(inFirst, 2*cap(c.in))
		if len(c.in) >= 4 {
			need = max(need, 4+int(binary.BigEndian.Uint32(c.in)))
		}
		c.in = append(make([]byte, 0, min(need, 4+ack.MaxResponse)), c.in...)
	}
	n, err := c.c.Read(c.in[len(c.in):cap(c.in)])
	c.in = c.in[:len(c.in)+n]
	return err
}

// deliver hands every whole frame in c.in to the caller waiting on its id,
// and keeps the partial one; an unmatched id is a caller that gave up, or
// an ERROR for a WRITTEN. A bad frame is an error: the stream is lost.
func (c *Client) deliver() error {
	b := c.in
	for len(b) >= 4 {
		n := int(binary.BigEndian.Uint32(b))
		if n < 5 || n > ack.MaxResponse {
			return fmt.Errorf("read frame: length %d outside 5..%d: %w", n, ack.MaxResponse, ack.ErrBadFrame)
		}
		if len(b) < 4+n {
			break
		}
		resp, err := ack.DecodeResponse(b[4 : 4+n])
		if err != nil {
			return err
		}
		b = b[4+n:]
		c.mu.Lock()
		ch, ok := c.pending[resp.ID]
		delete(c.pending, resp.ID)
		c.mu.Unlock()
		if ok {
			ch <- resp // buffered 1
		}
	}
	c.in = append(c.in[:0], b...)
	if len(c.in) == 0 && cap(c.in) > inKeep {
		c.in = nil
	}
	return nil
}
