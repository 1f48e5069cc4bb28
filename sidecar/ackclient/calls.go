package ackclient

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/hasidecar/hasidecar/sidecar/ack"
)

// Wait asks whether off is replicated. The timeout sent is the remaining
// time of ctx's deadline (without one, the server's maximum). When ctx's
// deadline passes before the server answers, the result is Timeout with
// Acked -1; a cancelled ctx returns its error. Transport failures and
// ERROR answers (*ack.ServerError) are errors.
func (c *Client) Wait(ctx context.Context, off int64) (ack.Result, error) {
	timeout := time.Duration(math.MaxUint32) * time.Millisecond
	if dl, ok := ctx.Deadline(); ok {
		timeout = max(0, time.Until(dl))
	}
	resp, err := c.call(ctx, func(b []byte, id uint32) []byte { return ack.AppendWait(b, id, off, timeout) })
	if errors.Is(err, context.DeadlineExceeded) {
		return ack.Result{Status: ack.Timeout, Acked: -1, Reason: "deadline passed before the server answered"}, nil
	}
	if err != nil {
		return ack.Result{}, fmt.Errorf("wait offset %d: %w", off, err)
	}
	if resp.Type == ack.TypeStatus {
		return ack.Result{}, fmt.Errorf("wait offset %d: STATUS answer: %w", off, ack.ErrBadFrame)
	}
	return resp.Result, nil
}

// Query returns the master's end, the policy, the committed offset and
// each slave's progress.
func (c *Client) Query(ctx context.Context) (ack.Snapshot, error) {
	resp, err := c.call(ctx, ack.AppendQuery)
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

// call sends one request and waits for its answer or ctx.
func (c *Client) call(ctx context.Context, enc func([]byte, uint32) []byte) (ack.Response, error) {
	id, ch, err := c.register(true)
	if err != nil {
		return ack.Response{}, err
	}
	if err := c.write(func(b []byte) []byte { return enc(b, id) }); err != nil {
		c.unregister(id)
		return ack.Response{}, err
	}
	select {
	case resp, ok := <-ch:
		if !ok {
			return ack.Response{}, c.brokenErr()
		}
		if resp.Err != nil {
			return ack.Response{}, resp.Err
		}
		return resp, nil
	case <-ctx.Done():
		c.unregister(id)
		return ack.Response{}, ctx.Err()
	}
}

func (c *Client) brokenErr() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return c.err
	}
	return ErrClosed
}
