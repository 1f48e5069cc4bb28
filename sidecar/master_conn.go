package sidecar

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/hasidecar/hasidecar/sidecar/haproto"
	"github.com/hasidecar/hasidecar/sidecar/meta"
	"github.com/hasidecar/hasidecar/tailer"
)

// masterConn is one slave connection: an ack reader goroutine and the
// sender, which runs on serve's goroutine.
type masterConn struct {
	m    *Master
	conn net.Conn
	id   string
	log  *zap.Logger

	sent       atomic.Int64 // end of the bytes handed to the socket
	acked      atomic.Int64
	bytesSent  atomic.Int64
	framesSent atomic.Int64
	lastAck    atomic.Int64 // unix nanoseconds
	streaming  atomic.Bool
	tainted    atomic.Bool // cut by a divergence: its position vouches for nothing
	proved     bool        // the hello's digest proved the slave holds what it reported
	since      time.Time
	hello      *haproto.Hello

	// The sender's reusable buffers (only its goroutine touches them).
	chunks []tailer.Chunk
	hdrs   []byte
	bufs   net.Buffers
}

func (c *masterConn) stats() SlaveConnStats {
	return SlaveConnStats{ID: c.id, Addr: c.conn.RemoteAddr().String(), Sent: c.sent.Load(), Acked: c.acked.Load(),
		BytesSent: c.bytesSent.Load(), FramesSent: c.framesSent.Load(), ConnectedAt: c.since,
		LastAckAt: time.Unix(0, c.lastAck.Load())}
}

func (c *masterConn) serve(ctx context.Context) {
	defer c.conn.Close()
	c.log.Info("slave connected")
	first, err := c.handshake(ctx)
	if errors.Is(err, errMetaConn) {
		c.log.Debug("metadata connection")
		c.m.cfg.Meta.ServeConn(ctx, c.conn)
		return
	}
	if err != nil {
		c.m.refused.Add(1)
		if permanent(err) {
			c.log.Error("refusing slave", zap.Error(err))
		} else {
			c.log.Warn("slave connection closed before streaming", zap.Error(err))
		}
		return
	}
	start, err := c.startPosition(ctx, first)
	if err != nil {
		c.m.refused.Add(1)
		c.replyHello(err)
		c.log.Error("refusing slave", zap.Int64("reported_offset", first), zap.Error(err))
		return
	}
	if err := c.replyHello(nil); err != nil {
		c.log.Warn("send hello reply", zap.Error(err))
		return
	}
	c.stream(ctx, first, start)
}

// stream runs the ack reader and the sender until either fails or ctx ends.
func (c *masterConn) stream(ctx context.Context, first, start int64) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	c.sent.Store(start)
	c.acked.Store(first)
	c.lastAck.Store(time.Now().UnixNano())
	c.streaming.Store(true)
	tr := c.m.tracker
	tr.AddSlave(c.id, c.conn.RemoteAddr().String())
	tr.Sent(c.id, start)
	if first > 0 && c.proved {
		// Only a hello's digest proves the slave holds what it reported; a
		// classic slave's first report is a request, not an acknowledgement.
		tr.Ack(c.id, first)
	}
	c.log.Info("streaming to slave", zap.Int64("reported_offset", first), zap.Int64("start_offset", start))
	var wg sync.WaitGroup
	var readErr error
	wg.Go(func() {
		readErr = c.readAcks(ctx)
		cancel()
		c.conn.Close() // a sender busy with a backlog stops at its next write
	})
	sendErr := c.send(ctx, start)
	cancel()
	c.conn.Close() // unblocks the reader
	wg.Wait()
	tr.RemoveSlave(c.id)
	c.m.connEnded(c)
	c.logEnd(ctx, sendErr, readErr)
}

func (c *masterConn) logEnd(ctx context.Context, sendErr, readErr error) {
	fields := []zap.Field{zap.Int64("sent_offset", c.sent.Load()), zap.Int64("acked_offset", c.acked.Load())}
	switch {
	case errors.Is(readErr, ErrLie), errors.Is(sendErr, ErrNeedsReseed), errors.Is(sendErr, ErrDiverged), c.tainted.Load():
		c.log.Error("slave connection closed", append(fields, zap.NamedError("send_error", sendErr), zap.NamedError("read_error", readErr))...)
	case ctx.Err() != nil && sendErr == nil:
		c.log.Info("slave connection closed on shutdown", fields...)
	default:
		c.log.Warn("slave connection closed", append(fields, zap.NamedError("send_error", sendErr), zap.NamedError("read_error", readErr))...)
	}
}

// handshake reads the first report, and the hello before it if the slave
// is a sidecar. The master sends nothing until it has a report; a 4.x slave
// sends its first one only after its heartbeat interval.
func (c *masterConn) handshake(ctx context.Context) (int64, error) {
	first, err := c.readReport()
	if err != nil {
		return 0, err
	}
	if meta.IsMetaMagic(first) && c.m.cfg.Meta != nil {
		return 0, errMetaConn
	}
	if first != haproto.HelloMagic {
		if first < 0 {
			return 0, fmt.Errorf("first report %d is negative: %w", first, haproto.ErrBadReport)
		}
		return first, nil
	}
	h, err := haproto.ReadHelloBody(c.conn)
	if err != nil {
		return 0, fmt.Errorf("read hello: %w", err)
	}
	c.hello = &h
	if err := c.checkLayout(h); err != nil {
		c.replyHello(err)
		return 0, err
	}
	return h.End, nil
}

func (c *masterConn) readReport() (int64, error) {
	var b [haproto.ReportSize]byte
	c.conn.SetReadDeadline(time.Now().Add(c.m.idleLimit()))
	if _, err := io.ReadFull(c.conn, b[:]); err != nil {
		return 0, fmt.Errorf("read first report: %w", err)
	}
	return int64(binary.BigEndian.Uint64(b[:])), nil
}

func (c *masterConn) checkLayout(h haproto.Hello) error {
	mine := c.m.layout.Info()
	if h.Version != haproto.Version {
		return fmt.Errorf("slave speaks hello version %d, master %d: %w", h.Version, haproto.Version, ErrLayoutMismatch)
	}
	if h.Layout.Info() != mine {
		return fmt.Errorf("slave layout %s differs from master layout %s: %w", h.Layout.Info(), mine, ErrLayoutMismatch)
	}
	return nil
}

// errMetaConn marks a connection that is not replication but metadata.
var errMetaConn = errors.New("metadata connection")

// replyHello answers a sidecar's hello; classic slaves get nothing.
func (c *masterConn) replyHello(err error) error {
	if c.hello == nil {
		return nil
	}
	rep := haproto.HelloReply{Version: haproto.Version, Layout: haproto.FromInfo(c.m.layout.Info())}
	if err != nil {
		rep.Error, rep.Retry, rep.Code = err.Error(), !permanent(err), refusalCode(err)
	}
	c.conn.SetWriteDeadline(time.Now().Add(c.m.idleLimit()))
	werr := haproto.WriteHelloReply(c.conn, rep)
	c.hello = nil // answered once
	return werr
}
