package ackclient

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"time"

	"github.com/hasidecar/hasidecar/sidecar/ack"
)

// maxWireTimeout is the largest timeout a WAIT carries (uint32 ms); the
// server clamps it to its own maximum.
const maxWireTimeout = time.Duration(math.MaxUint32) * time.Millisecond

// AnswerMargin is how long past a WAIT's timeout the client keeps waiting
// for the server's answer: the server answers TIMEOUT at the deadline, and
// that answer, with the real committed offset, needs time to arrive.
func AnswerMargin(timeout time.Duration) time.Duration {
	return max(time.Second, timeout/10)
}

// Wait asks whether off is replicated. The timeout sent is the remaining
// time of ctx's deadline (without one, the server's maximum), and the
// server's answer to it is the result: ctx's deadline passing does not end
// the call, the client waits AnswerMargin longer for that answer. No answer
// by then is ErrNoAnswer; the client never makes up a result. A cancelled
// ctx returns its error. Transport failures and ERROR answers
// (*ack.ServerError) are errors.
func (c *Client) Wait(ctx context.Context, off int64) (ack.Result, error) {
	dl, ok := ctx.Deadline()
	if !ok {
		return c.wait(endsBy{ctx: ctx}, off, maxWireTimeout)
	}
	return c.wait(endsBy{ctx: ctx, pastDeadline: true}, off, max(0, time.Until(dl)))
}

// WaitTimeout is Wait with an explicit timeout. ctx may cancel the call
// (its error is returned); without an answer within timeout plus
// AnswerMargin the result is ErrNoAnswer.
func (c *Client) WaitTimeout(ctx context.Context, off int64, timeout time.Duration) (ack.Result, error) {
	return c.wait(endsBy{ctx: ctx}, off, timeout)
}

func (c *Client) wait(end endsBy, off int64, timeout time.Duration) (ack.Result, error) {
	timeout = min(max(0, timeout), maxWireTimeout)
	margin := AnswerMargin(timeout)
	resp, err := c.call(end, timeout+margin, func(b []byte, id uint32) []byte { return ack.AppendWait(b, id, off, timeout) })
	if errors.Is(err, ErrNoAnswer) {
		return ack.Result{}, fmt.Errorf("wait offset %d: nothing within the %v timeout plus a %v margin: %w", off, timeout, margin, err)
	}
	if err != nil {
		return ack.Result{}, fmt.Errorf("wait offset %d: %w", off, err)
	}
	if resp.Type == ack.TypeStatus {
		return ack.Result{}, fmt.Errorf("wait offset %d: STATUS answer: %w", off, ack.ErrBadFrame)
	}
	return resp.Result, nil
}

// endsBy is what ends a call besides its answer: ctx, but with
// pastDeadline only ctx's cancellation, not its deadline (Wait hands that
// deadline to the server and waits for the server's answer to it).
type endsBy struct {
	ctx          context.Context
	pastDeadline bool
}

// err is the error that ends the call now, or nil.
func (e endsBy) err() error {
	err := e.ctx.Err()
	if e.pastDeadline && errors.Is(err, context.DeadlineExceeded) {
		return nil
	}
	return err
}

// Query returns the master's end, the policy, the committed offset, each
// slave's progress and the divergence. It asks with QUERY_EXT; a server
// that does not know it (ERROR code 2: an older version) is asked QUERY,
// from then on, and its snapshots lack the divergence.
func (c *Client) Query(ctx context.Context) (ack.Snapshot, error) {
	enc := ack.AppendQueryExt
	if c.noExt.Load() {
		enc = ack.AppendQuery
	}
	resp, err := c.call(endsBy{ctx: ctx}, 0, enc)
	if se := (*ack.ServerError)(nil); errors.As(err, &se) && se.Code == ack.CodeUnknownType && !c.noExt.Load() {
		c.noExt.Store(true)
		resp, err = c.call(endsBy{ctx: ctx}, 0, ack.AppendQuery)
	}
	if err != nil {
		return ack.Snapshot{}, fmt.Errorf("query: %w", err)
	}
	if resp.Type != ack.TypeStatus {
		return ack.Snapshot{}, fmt.Errorf("query: answer type 0x%02x: %w", resp.Type, ack.ErrBadFrame)
	}
	return resp.Snapshot, nil
}

// Written tells the master the writer has written up to off, so the tailer
// ships it at once. It does not wait for an answer; the server answers only
// a bad one, and the client drops such an answer.
func (c *Client) Written(off int64) error {
	id, _, err := c.register(false)
	if err != nil {
		return err
	}
	return c.write(func(b []byte) []byte { return ack.AppendWritten(b, id, off) })
}

// call sends one request and waits for its answer, ctx, or (limit > 0)
// limit: then the error is ErrNoAnswer.
func (c *Client) call(end endsBy, limit time.Duration, enc func([]byte, uint32) []byte) (ack.Response, error) {
	id, ch, err := c.register(true)
	if err != nil {
		return ack.Response{}, err
	}
	if err := c.write(func(b []byte) []byte { return enc(b, id) }); err != nil {
		c.unregister(id)
		return ack.Response{}, err
	}
	return c.awaitAnswer(end, id, ch, limit)
}

func (c *Client) brokenErr() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return c.err
	}
	return fmt.Errorf("ackclient: %w", net.ErrClosed)
}
