package sidecar

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/hasidecar/hasidecar/sidecar/haproto"
)

// The digest channel (haproto/digest.go has the bytes): a connection that
// opens with haproto.DigestMagic asks for the master's segments (info),
// the lineage block CRCs of a range (digests) and a range's bytes (fetch),
// one request at a time, until it closes. It is how verify --online, the
// slave's scrub and repair compare a replica with the master without
// replicating it. It shares the port's TLS and allow-list, has its own cap
// (MaxDigestConns) and the idle limit of any connection; a malformed
// request ends the connection, a request the master cannot answer gets a
// refusal and the connection stays.

// errDigestConn marks a connection that opened with the digest magic.
var errDigestConn = errors.New("digest connection")

// digestCounts is what the digest channel served since start.
type digestCounts struct {
	info, digests, fetch atomic.Int64 // requests answered, refusals included
	refused              atomic.Int64 // requests answered with a refusal
	fetched              atomic.Int64 // bytes sent by fetch replies
	conns                atomic.Int64 // connections accepted
}

// DigestStats is the digest channel's counters, for metrics.
type DigestStats struct {
	Info, Digests, Fetch int64 // requests by op
	Refused              int64 // requests answered with an error
	FetchedBytes         int64 // bytes sent by fetch replies
	Connections          int64 // connections accepted (over the cap excluded)
}

func (d *digestCounts) stats() DigestStats {
	return DigestStats{Info: d.info.Load(), Digests: d.digests.Load(), Fetch: d.fetch.Load(), Refused: d.refused.Load(),
		FetchedBytes: d.fetched.Load(), Connections: d.conns.Load()}
}

// serveDigest answers a digest connection's requests until it closes, its
// request is malformed, it stays idle beyond the idle limit or ctx ends.
func (c *masterConn) serveDigest(ctx context.Context) {
	if err := c.m.claim(c, kindDigest); err != nil {
		c.log.Warn("refusing digest connection: connection cap reached", zap.Error(err), zap.Int("max_digest_conns", c.m.cfg.MaxDigestConns))
		c.conn.SetWriteDeadline(time.Now().Add(c.m.idleLimit()))
		haproto.WriteDigestReply(c.conn, haproto.DigestReply{Error: err.Error(), Code: haproto.DigestCodeBusy}, nil, nil)
		return
	}
	c.m.digests.conns.Add(1)
	c.log.Debug("digest connection")
	for ctx.Err() == nil {
		c.conn.SetReadDeadline(time.Now().Add(c.m.idleLimit()))
		req, err := haproto.ReadDigestRequest(c.conn)
		if err != nil {
			c.digestEnded(err)
			return
		}
		rep, crcs, data := c.m.answerDigest(req)
		// Counted before the write, so that a client holding the reply
		// never reads a count without it; a failed write ends the connection.
		c.m.digests.fetched.Add(int64(len(data)))
		c.conn.SetWriteDeadline(time.Now().Add(c.m.idleLimit()))
		if err := haproto.WriteDigestReply(c.conn, rep, crcs, data); err != nil {
			c.log.Debug("send digest reply", zap.Error(err))
			return
		}
	}
}

// digestEnded logs why a digest connection stopped reading.
func (c *masterConn) digestEnded(err error) {
	var ne net.Error
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, net.ErrClosed):
		c.log.Debug("digest connection closed")
	case errors.Is(err, haproto.ErrBadDigest):
		c.log.Warn("closing digest connection: malformed request", zap.String("remote_addr", c.conn.RemoteAddr().String()), zap.Error(err))
	case errors.Is(err, os.ErrDeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		c.log.Debug("closing idle digest connection", zap.Duration("timeout", c.m.idleLimit()))
	default:
		c.log.Warn("digest connection failed", zap.Error(err))
	}
}
