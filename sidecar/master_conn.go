package sidecar

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/hasidecar/hasidecar/sidecar/ack"
	"github.com/hasidecar/hasidecar/sidecar/haproto"
	"github.com/hasidecar/hasidecar/sidecar/meta"
	"github.com/hasidecar/hasidecar/tailer"
)

// masterConn is one slave connection: an ack reader goroutine and the
// sender, which runs on serve's goroutine.
type masterConn struct {
	m    *Master
	conn net.Conn      // reads go through br
	br   *bufio.Reader // what the first read took past the first 8 bytes stays here
	id   string
	log  *zap.Logger
	kind connKind             // guarded by m.mu
	rr   haproto.ReportReader // reports after the first; the ack reader continues it

	// rep is the connection's progress and state: the one record that the
	// tracker, status and metrics read.
	rep         *ack.Replica
	streaming   atomic.Bool
	reachedEnd  atomic.Bool // the sender found nothing more to send at least once
	evalMu      sync.Mutex  // serializes evaluate
	behindSince time.Time   // guarded by evalMu: when the slave was first seen behind
	proved      bool        // the hello's digest proved the slave holds what it reported
	hello       *haproto.Hello
	challenge   []haproto.Range // ranges the slave must prove (checkDiverged)
	reports     int             // report format agreed in the hello (master_report2.go); 0: classic
	// lineageSkipped counts the slave's segments the lineage round could
	// not compare (master_lineage.go), told in the final reply.
	lineageSkipped int

	// The sender's reusable buffers (only its goroutine touches them).
	chunks []tailer.Chunk
	hdrs   []byte
	bufs   net.Buffers
}

// readBuf is the size of a connection's read buffer: the first read may
// hold several reports, or a hello, or a metadata request.
const readBuf = 4096

func newMasterConn(m *Master, conn net.Conn, id string) *masterConn {
	br := bufio.NewReaderSize(conn, readBuf)
	return &masterConn{m: m, conn: &bufferedConn{Conn: conn, r: br}, br: br, id: id,
		log: m.log.With(zap.String("slave", id)), rep: ack.NewReplica(id, conn.RemoteAddr().String(), string(SlaveConnecting))}
}

// bufferedConn is a connection whose reads go through a bufio.Reader, so
// that whoever reads after the first 8 bytes (hello, metadata server, ack
// reader) gets what the first read took past them.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (b *bufferedConn) Read(p []byte) (int, error) { return b.r.Read(p) }

func (c *masterConn) stats() SlaveConnStats { return c.rep.Status() }

func (c *masterConn) serve(ctx context.Context) {
	defer c.conn.Close()
	first, err := c.handshake()
	if errors.Is(err, errMetaConn) {
		c.serveMeta(ctx)
		return
	}
	if errors.Is(err, errDigestConn) {
		c.serveDigest(ctx)
		return
	}
	if err != nil {
		c.m.refused.Add(1)
		if permanent(err) {
			c.refusedAs(err)
			c.log.Error("refusing slave", zap.Error(err))
		} else {
			c.log.Warn("slave connection closed before streaming", zap.Error(err))
		}
		return
	}
	if err := c.m.claim(c, kindReplication); err != nil {
		c.refuseFull(err)
		return
	}
	c.log.Info("slave connected", zap.Bool("sidecar", c.hello != nil))
	start, err := c.startPosition(ctx, first)
	if err != nil {
		c.m.refused.Add(1)
		c.replyHello(err)
		c.refusedAs(err)
		c.log.Error("refusing slave", zap.Int64("reported_offset", first), zap.Error(err))
		return
	}
	if err := c.replyHello(nil); err != nil {
		c.log.Warn("send hello reply", zap.Error(err))
		return
	}
	c.stream(ctx, first, start)
}

// refuseFull turns a slave away because the replication slots are full,
// telling a sidecar why (a retryable refusal) before the connection closes.
func (c *masterConn) refuseFull(err error) {
	c.log.Warn("refusing slave: connection cap reached", zap.Error(err),
		zap.Int("max_slaves", c.m.cfg.MaxSlaves), zap.Bool("sidecar", c.hello != nil))
	if rerr := c.replyHello(err); rerr != nil {
		c.log.Debug("send refusal to slave", zap.Error(rerr))
	}
}

// serveMeta hands a metadata connection to the metadata server, within
// the metadata connections' own cap.
func (c *masterConn) serveMeta(ctx context.Context) {
	if err := c.m.claim(c, kindMeta); err != nil {
		c.log.Warn("refusing metadata connection: connection cap reached", zap.Error(err),
			zap.Int("max_meta_conns", c.m.cfg.MaxMetaConns))
		return
	}
	c.log.Debug("metadata connection")
	c.m.cfg.Meta.ServeConn(ctx, c.conn)
}

// stream runs the ack reader and the sender until either fails or ctx ends.
func (c *masterConn) stream(ctx context.Context, first, start int64) {
	parent := ctx // the master's: only its end is a shutdown
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	c.rep.StartAt(start, first)
	tr := c.m.tracker
	tr.Add(c.rep)
	if first > 0 && c.proved && first <= c.m.tail.State().End { // not above a divergence found since
		// Only a hello's digest proves the slave holds what it reported; a
		// classic slave's first report is a request, not an acknowledgement.
		tr.Ack(c.id, first)
	}
	c.log.Info("streaming to slave", zap.Int64("reported_offset", first), zap.Int64("start_offset", start))
	c.streaming.Store(true)
	c.evaluate(c.m.tail.State(), time.Now())
	var wg sync.WaitGroup
	var readErr error
	wg.Go(func() {
		readErr = c.readReports(ctx)
		cancel()
		c.conn.Close() // a sender busy with a backlog stops at its next write
	})
	sendErr := c.send(ctx, start)
	cancel()
	c.conn.Close() // unblocks the reader
	wg.Wait()
	tr.RemoveSlave(c.id)
	if errors.Is(sendErr, ErrNeedsReseed) || errors.Is(sendErr, ErrDiverged) {
		c.refusedAs(sendErr)
	}
	c.m.connEnded(c)
	c.logEnd(parent, sendErr, readErr)
}

// logEnd says why a streaming connection ended. parent is the master's
// context: the stream's own is cancelled whichever side ended it.
func (c *masterConn) logEnd(parent context.Context, sendErr, readErr error) {
	fields := []zap.Field{zap.Int64("sent_offset", c.rep.Sent()), zap.Int64("acked_offset", c.rep.Acked()),
		zap.Int64("reported_offset", c.rep.Reported())}
	errs := []zap.Field{zap.NamedError("send_error", sendErr), zap.NamedError("read_error", readErr)}
	switch {
	case errors.Is(readErr, ErrLie), errors.Is(sendErr, ErrNeedsReseed), errors.Is(sendErr, ErrDiverged), c.rep.Tainted():
		c.log.Error("slave connection closed", append(fields, errs...)...)
	case parent.Err() != nil:
		c.log.Info("slave connection closed on shutdown", fields...)
	case sendErr == nil && errors.Is(readErr, io.EOF):
		c.log.Warn("slave closed the connection", fields...)
	default:
		c.log.Warn("slave connection closed", append(fields, errs...)...)
	}
}

// refusedAs records the state a refusal or a fatal send error leaves the
// connection in, so that its log shows the transition with the reason.
func (c *masterConn) refusedAs(err error) {
	c.setState(refusalState(err), err.Error())
}

// handshake reads the first report, and the hello before it if the slave
// is a sidecar. The master sends nothing until it has a report; a 4.x slave
// sends its first one only after its heartbeat interval.
func (c *masterConn) handshake() (int64, error) {
	first, err := c.readFirst()
	if err != nil {
		return 0, err
	}
	switch {
	case first == haproto.HelloMagic:
		return c.readHello()
	case meta.IsMetaMagic(first) && c.m.cfg.Meta != nil:
		return 0, errMetaConn
	case haproto.IsDigestMagic(first):
		return 0, errDigestConn
	case first == 0:
		if first, err = c.awaitSuccessor(); err != nil {
			return 0, err
		}
	}
	if first < 0 {
		return 0, fmt.Errorf("first report %d is negative: %w", first, haproto.ErrBadReport)
	}
	return first, nil
}

// readFirst reads the first 8 bytes. Unless they open a hello or a
// metadata connection they are a report and, as on RocketMQ's master, the
// last complete report of that same read is the request: a fork's slave
// sends 0 and its real offset back to back. A partial report after it stays
// in c.rr for the ack reader.
func (c *masterConn) readFirst() (int64, error) {
	var b [haproto.ReportSize]byte
	c.conn.SetReadDeadline(time.Now().Add(c.m.idleLimit()))
	if _, err := io.ReadFull(c.br, b[:]); err != nil {
		return 0, fmt.Errorf("read first report: %w", err)
	}
	first := int64(binary.BigEndian.Uint64(b[:]))
	if first == haproto.HelloMagic || meta.IsMetaMagic(first) || haproto.IsDigestMagic(first) {
		return first, nil
	}
	rest, _ := c.br.Peek(c.br.Buffered()) // cannot fail: these bytes are buffered
	if last, ok := c.rr.Feed(rest); ok {
		first = last
	}
	c.br.Discard(len(rest))
	return first, nil
}

// awaitSuccessor gives a classic slave whose first report is 0 ZeroGrace to
// send the report that supersedes it: the fork's two back-to-back writes
// may arrive in two TCP segments. No successor leaves the request at 0.
func (c *masterConn) awaitSuccessor() (int64, error) {
	first := int64(0)
	buf := make([]byte, readBuf)
	c.log.Debug("first report is 0: waiting for one that replaces it", zap.Duration("grace", c.m.cfg.ZeroGrace))
	c.conn.SetReadDeadline(time.Now().Add(c.m.cfg.ZeroGrace))
	for first == 0 {
		n, err := c.br.Read(buf)
		if last, ok := c.rr.Feed(buf[:n]); ok {
			first = last
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			break
		}
		if err != nil {
			return 0, fmt.Errorf("read report after a first report of 0: %w", err)
		}
	}
	return first, nil
}

// readHello reads the hello body after its magic and checks the layout.
func (c *masterConn) readHello() (int64, error) {
	h, err := haproto.ReadHelloBody(c.conn)
	if err != nil {
		return 0, fmt.Errorf("read hello: %w", err)
	}
	c.hello = &h
	if err := c.takeName(h.Name); err != nil {
		c.replyHello(err)
		return 0, err
	}
	if err := c.checkLayout(h); err != nil {
		c.replyHello(err)
		return 0, err
	}
	return h.End, nil
}

// takeName names the connection after the hello's name; a slave that
// sends none (an older sidecar) keeps its address:port. A bad name is
// refused for good, in words the slave logs.
func (c *masterConn) takeName(name string) error {
	if name != "" {
		if err := haproto.CheckName(name); err != nil {
			return fmt.Errorf("%w: %w", err, ErrRefused)
		}
	}
	other := c.m.setName(c, name)
	if name == "" {
		return nil
	}
	c.log = c.log.With(zap.String("slave_name", name))
	if other != "" {
		c.log.Warn("another connected slave has the same name: status and metrics cannot tell them apart; give each slave its own name",
			zap.String("other_slave", other))
	}
	return nil
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
	rep := haproto.HelloReply{Version: haproto.Version, Layout: haproto.FromInfo(c.m.layout.Info()), End: c.m.tail.State().End}
	rep.LineageSkipped = c.lineageSkipped
	if ld := (*lineageDivergence)(nil); errors.As(err, &ld) {
		rep.Common = &ld.common
	}
	if err != nil {
		rep.Error, rep.Retry, rep.Code = err.Error(), !permanent(err), refusalCode(err)
	} else {
		c.agreeReports(&rep)
	}
	c.conn.SetWriteDeadline(time.Now().Add(c.m.idleLimit()))
	werr := haproto.WriteHelloReply(c.conn, rep)
	c.hello = nil // answered once
	return werr
}
