package ackclient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hasidecar/hasidecar/sidecar/ack"
)

// A closed client, or one whose connection broke, fails every call with an
// error wrapping net.ErrClosed.

// ErrNoAnswer means the server did not answer a WAIT within its timeout
// plus AnswerMargin: the wait's outcome is unknown.
var ErrNoAnswer = errors.New("ackclient: no answer from the ack server")

// Client is a pipelined connection to an ack server. It has no goroutine
// of its own: a caller waiting for an answer reads the connection itself,
// one caller at a time (read.go), and hands every answer it reads to the
// caller waiting on its id. A lone caller thus reads its own answer, with
// no hop between goroutines; answers to calls that gave up are read and
// dropped by the next call.
type Client struct {
	c  net.Conn
	rd chan struct{} // cap 1: holds the read turn while nobody reads
	in []byte        // bytes read and not parsed yet; owned by the read turn's holder

	wmu      sync.Mutex // guards the write batch
	queued   []byte     // requests queued while another caller writes
	wbuf     []byte     // the batch being written
	flushing bool       // a caller is writing batches

	mu      sync.Mutex
	nextID  uint32
	pending map[uint32]chan ack.Response
	err     error // set once the connection is unusable

	noExt atomic.Bool // the server answered QUERY_EXT with "unknown type"
}

// Dial connects to the socket at path and exchanges preambles. ctx bounds
// the dial and the handshake only.
func Dial(ctx context.Context, path string) (*Client, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return nil, fmt.Errorf("dial ack socket %s: %w", path, err)
	}
	if err := handshake(ctx, c); err != nil {
		c.Close()
		return nil, fmt.Errorf("handshake ack socket %s: %w", path, err)
	}
	cl := &Client{c: c, rd: make(chan struct{}, 1), pending: make(map[uint32]chan ack.Response)}
	cl.rd <- struct{}{}
	return cl, nil
}

func handshake(ctx context.Context, c net.Conn) error {
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Now()) })
	defer stop()
	if _, err := c.Write(ack.AppendPreamble(nil, ack.Version, 0)); err != nil {
		return err
	}
	var p [ack.PreambleLen]byte
	if _, err := io.ReadFull(c, p[:]); err != nil {
		return err
	}
	if !stop() {
		return ctx.Err()
	}
	c.SetDeadline(time.Time{})
	v, status, err := ack.ParsePreamble(p[:])
	if err != nil {
		return err
	}
	switch status {
	case ack.PreambleOK:
	case ack.PreambleBusy:
		return fmt.Errorf("server refused the connection (status %d): %w", status, ack.ErrBusy)
	default:
		return fmt.Errorf("server version %d refused us (status %d): %w", v, status, ack.ErrVersion)
	}
	return nil
}

// Close closes the connection. Calls in flight return an error wrapping
// net.ErrClosed.
func (c *Client) Close() error {
	err := c.c.Close()
	c.fail(net.ErrClosed)
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

// fail marks the client broken and wakes every pending caller.
func (c *Client) fail(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err == nil {
		c.err = fmt.Errorf("ackclient: connection closed: %w (%v)", net.ErrClosed, err)
	}
	for id, ch := range c.pending {
		close(ch)
		delete(c.pending, id)
	}
}

// register allocates an id and, when want is true, a slot for its answer.
func (c *Client) register(want bool) (uint32, chan ack.Response, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return 0, nil, c.err
	}
	c.nextID++
	if c.nextID == 0 { // 0 is the server's "no request" id
		c.nextID = 1
	}
	if !want {
		return c.nextID, nil, nil
	}
	ch := make(chan ack.Response, 1)
	c.pending[c.nextID] = ch
	return c.nextID, ch, nil
}

func (c *Client) unregister(id uint32) {
	c.mu.Lock()
	delete(c.pending, id)
	c.mu.Unlock()
}

// write queues a request. The caller that finds no write in progress
// writes every queued request in one batch, and again while more arrive:
// many concurrent waiters (a group commit) cost a few writes, not one each.
// A failed write closes the connection, so every pending call fails.
func (c *Client) write(enc func([]byte) []byte) error {
	c.wmu.Lock()
	c.queued = enc(c.queued)
	if c.flushing {
		c.wmu.Unlock()
		return nil // the writing caller takes it with its next batch
	}
	c.flushing = true
	var err error
	for len(c.queued) > 0 && err == nil {
		c.wbuf, c.queued = c.queued, c.wbuf[:0]
		c.wmu.Unlock()
		_, err = c.c.Write(c.wbuf)
		c.wmu.Lock()
	}
	c.flushing = false
	c.queued = c.queued[:0]
	c.wmu.Unlock()
	if err != nil {
		c.c.Close()
		return fmt.Errorf("write ack request: %w", err)
	}
	return nil
}
