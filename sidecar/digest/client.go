package digest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/hasidecar/hasidecar/sidecar/haproto"
)

// DefaultTimeout bounds one request/response exchange.
const DefaultTimeout = 30 * time.Second

// blockSize is the lineage block size the CRC counts are checked against.
const blockSize = haproto.LineageBlock

// ErrClosed means the client was closed, or broke on an earlier error.
var ErrClosed = errors.New("digest: client closed")

// Client is one digest connection to a master.
type Client struct {
	mu      sync.Mutex
	conn    net.Conn
	timeout time.Duration
	broken  error // set once the connection is unusable
}

// Dial connects with dial and opens the digest channel.
func Dial(ctx context.Context, dial func(ctx context.Context) (net.Conn, error)) (*Client, error) {
	if dial == nil {
		return nil, errors.New("digest: no dial function")
	}
	conn, err := dial(ctx)
	if err != nil {
		return nil, fmt.Errorf("digest: dial the master: %w", err)
	}
	if dl, ok := ctx.Deadline(); ok {
		conn.SetWriteDeadline(dl)
	} else {
		conn.SetWriteDeadline(time.Now().Add(DefaultTimeout))
	}
	if err := haproto.WriteDigestOpen(conn); err != nil {
		conn.Close()
		return nil, fmt.Errorf("digest: open the channel: %w", err)
	}
	return &Client{conn: conn, timeout: DefaultTimeout}, nil
}

// SetTimeout changes the bound of each exchange from the next request on.
func (c *Client) SetTimeout(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if d > 0 {
		c.timeout = d
	}
}

// Info asks for the master's layout, end and segments.
func (c *Client) Info() (haproto.DigestReply, error) {
	rep, _, _, err := c.do(haproto.DigestRequest{Op: haproto.OpInfo}, 0, 0)
	return rep, err
}

// Digests asks for the block CRCs of [from, to) of one segment.
func (c *Client) Digests(from, to int64) ([]uint32, error) {
	if to < from || to-from > haproto.MaxDigestSpan {
		return nil, fmt.Errorf("digest: digests [%d, %d): want from <= to within %d bytes: %w", from, to, int64(haproto.MaxDigestSpan), haproto.ErrBadDigest)
	}
	want := int((to - from + blockSize - 1) / blockSize)
	_, crcs, _, err := c.do(haproto.DigestRequest{Op: haproto.OpDigests, From: from, To: to}, want, 0)
	if err != nil {
		return nil, err
	}
	if len(crcs) != want {
		return nil, c.fail(fmt.Errorf("digest: master sent %d CRCs for [%d, %d), want %d: %w", len(crcs), from, to, want, haproto.ErrBadDigest))
	}
	return crcs, nil
}

// Fetch asks for the master's bytes [from, to) of one segment.
func (c *Client) Fetch(from, to int64) ([]byte, error) {
	if to < from || to-from > haproto.MaxFetch {
		return nil, fmt.Errorf("digest: fetch [%d, %d): want from <= to within %d bytes: %w", from, to, haproto.MaxFetch, haproto.ErrBadDigest)
	}
	want := int(to - from)
	_, _, data, err := c.do(haproto.DigestRequest{Op: haproto.OpFetch, From: from, To: to}, 0, want)
	if err != nil {
		return nil, err
	}
	if len(data) != want {
		return nil, c.fail(fmt.Errorf("digest: master sent %d bytes for [%d, %d), want %d: %w", len(data), from, to, want, haproto.ErrBadDigest))
	}
	if data == nil {
		data = []byte{}
	}
	return data, nil
}

// Close closes the connection.
func (c *Client) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if errors.Is(c.broken, ErrClosed) {
		return nil
	}
	c.broken = ErrClosed
	return c.conn.Close()
}

// do sends one request and reads its reply; a refusal is returned as its
// *haproto.DigestError with the connection kept.
func (c *Client) do(req haproto.DigestRequest, maxCRCs, maxData int) (haproto.DigestReply, []uint32, []byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.broken != nil {
		return haproto.DigestReply{}, nil, nil, fmt.Errorf("%w: %w", ErrClosed, c.broken)
	}
	c.conn.SetDeadline(time.Now().Add(c.timeout))
	if err := haproto.WriteDigestRequest(c.conn, req); err != nil {
		return haproto.DigestReply{}, nil, nil, c.failLocked(fmt.Errorf("digest: send %s request: %w", req.Op, err))
	}
	rep, crcs, data, err := haproto.ReadDigestReply(c.conn, maxCRCs, maxData)
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			err = fmt.Errorf("%w (the master closed the connection: cap reached, malformed request, or a master without the digest channel)", err)
		}
		return rep, nil, nil, c.failLocked(fmt.Errorf("digest: %s [%d, %d): %w", req.Op, req.From, req.To, err))
	}
	if err := rep.Err(); err != nil {
		return rep, nil, nil, err
	}
	return rep, crcs, data, nil
}

func (c *Client) fail(err error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.failLocked(err)
}

func (c *Client) failLocked(err error) error {
	if c.broken == nil {
		c.broken = err
		c.conn.Close()
	}
	return err
}
