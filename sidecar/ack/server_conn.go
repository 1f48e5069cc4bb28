package ack

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"go.uber.org/zap"
)

const (
	// preambleTimeout bounds how long a silent client holds a connection
	// before sending its preamble.
	preambleTimeout = 5 * time.Second
	// maxInflight bounds one connection's outstanding WAITs.
	maxInflight = 1 << 16
	// closeGrace bounds the writes still owed to a client whose requests
	// ended (a bad frame's ERROR), so one that stopped reading cannot pin
	// the connection.
	closeGrace = 5 * time.Second
	// busyLogEvery spaces the "too many in flight" lines of one connection.
	busyLogEvery = 10 * time.Second
)

// serverConn is one client connection: a reader (serve) and one writer.
// Outstanding WAITs are heap entries in the tracker, owned by own; their
// answers land in out. The goroutine that produced answers writes them at
// once when the socket takes them (the reader for answers it gives itself,
// the acknowledgement's goroutine for the waits it satisfies); the writer
// goroutine only finishes what the socket did not take. serve owns both
// goroutines and returns after they end.
type serverConn struct {
	s   *Server
	c   net.Conn
	log *zap.Logger
	out *outQueue
	own waitOwner // guarded by the tracker's lock

	// reader-only state
	hintAt     int64 // highest offset of the requests read, not hinted yet; -1: none
	clamped    bool
	busy       int // refused requests not logged yet
	busyLogged time.Time
}

func newServerConn(s *Server, c net.Conn, id uint64) *serverConn {
	sc := &serverConn{s: s, c: c, log: s.log.With(zap.Uint64("conn", id)), out: newOutQueue(c), hintAt: -1}
	sc.own.answer = sc.answer
	sc.own.flush = sc.out.tryFlush
	return sc
}

// answer is the tracker handing over a parked WAIT's result (its lock held).
func (sc *serverConn) answer(w *waiter, r Result) {
	sc.observe(r.Status, w.start)
	sc.out.pushResult(w.id, r)
}

func (sc *serverConn) serve(ctx context.Context) {
	writerDone := make(chan struct{})
	go func() { defer close(writerDone); sc.writeLoop() }()
	err := sc.readLoop(ctx)
	sc.s.tr.cancelOwner(&sc.own) // abandons this connection's waits: no answer comes after
	sc.c.SetWriteDeadline(time.Now().Add(closeGrace))
	sc.out.close()
	<-writerDone
	switch {
	case err == nil, errors.Is(err, io.EOF), errors.Is(err, net.ErrClosed):
		sc.log.Debug("ack client closed")
	default:
		sc.log.Warn("ack client dropped", zap.Error(err))
	}
}

// readLoop handles the preamble then requests until EOF or a fatal error.
func (sc *serverConn) readLoop(ctx context.Context) error {
	r := bufio.NewReader(sc.c)
	if err := sc.handshake(r); err != nil {
		return err
	}
	buf := make([]byte, MaxRequest)
	for {
		if !frameBuffered(r) {
			// Every request read whole is handled: the tailer hears of
			// their highest offset once, and their answers go out
			// together, before the read may block. A group commit's
			// batch of WAITs wakes the tailer once, not once each.
			sc.flushHint()
			sc.out.tryFlush()
		}
		sc.out.waitSpace(ctx.Done())
		body, err := ReadFrame(r, buf, MaxRequest)
		if errors.Is(err, ErrBadFrame) {
			sc.sendError(0, CodeFrame, err.Error())
			sc.out.tryFlush()
			return err
		}
		if err != nil {
			return err
		}
		req, err := DecodeRequest(body)
		if rerr := (*RequestError)(nil); errors.As(err, &rerr) {
			sc.log.Warn("bad ack request", zap.Uint32("id", rerr.ID), zap.String("reason", rerr.Reason))
			sc.sendError(rerr.ID, rerr.Code, rerr.Reason)
			continue
		}
		sc.dispatch(req)
	}
}

// frameBuffered reports whether r holds a whole frame, so reading it does
// not block.
func frameBuffered(r *bufio.Reader) bool {
	if r.Buffered() < 4 {
		return false // Peek would read: block
	}
	l, err := r.Peek(4)
	if err != nil {
		return false
	}
	return r.Buffered() >= 4+int(binary.BigEndian.Uint32(l))
}

func (sc *serverConn) handshake(r *bufio.Reader) error {
	var p [PreambleLen]byte
	sc.c.SetReadDeadline(time.Now().Add(preambleTimeout))
	if _, err := io.ReadFull(r, p[:]); err != nil {
		return fmt.Errorf("read preamble: %w", err)
	}
	sc.c.SetReadDeadline(time.Time{})
	v, _, err := ParsePreamble(p[:])
	status := PreambleOK
	switch {
	case err != nil:
		status = PreambleBadMagic
	case v != Version:
		status, err = PreambleBadVersion, fmt.Errorf("client version %d: %w", v, ErrVersion)
	}
	if _, werr := sc.c.Write(AppendPreamble(nil, Version, status)); werr != nil && err == nil {
		err = fmt.Errorf("write preamble: %w", werr)
	}
	return err
}

func (sc *serverConn) dispatch(req Request) {
	switch req.Type {
	case TypeWritten:
		sc.hint(req.Offset)
	case TypeQuery:
		snap := sc.s.tr.Snapshot()
		sc.out.push(func(b []byte) []byte { return AppendSnapshot(b, req.ID, snap) })
	case TypeQueryExt:
		snap := sc.s.tr.Snapshot()
		sc.out.push(func(b []byte) []byte { return AppendSnapshotExt(b, req.ID, snap) })
	case TypeWait:
		sc.wait(req)
	}
}

// wait answers a WAIT at once or parks it in the tracker; over a cap it
// answers ERROR(CodeBusy).
func (sc *serverConn) wait(req Request) {
	tr := sc.s.tr
	w := &waiter{off: req.Offset, id: req.ID, owner: &sc.own,
		deadline: tr.clock() + int64(sc.clamp(req.Timeout))}
	r, how := tr.submit(w, sc.s.opts.MaxWaits, maxInflight)
	if how != answered || r.Status != OK {
		// An offset answered OK is acknowledged, so already published:
		// a hint would only wake the tailer ahead of the answer's write.
		sc.hint(req.Offset)
	}
	switch how {
	case answered:
		sc.observe(r.Status, w.start)
		sc.out.pushResult(req.ID, r)
	case fullOwner:
		sc.refuse(req.ID, fmt.Sprintf("too many requests in flight: %d outstanding WAITs on this connection", maxInflight))
	case fullTotal:
		sc.refuse(req.ID, fmt.Sprintf("too many requests in flight: %d outstanding WAITs on the server (--ack-max-waits)", sc.s.opts.MaxWaits))
	}
}

// refuse answers ERROR(CodeBusy), logging at most every busyLogEvery.
func (sc *serverConn) refuse(id uint32, reason string) {
	sc.busy++
	if now := time.Now(); now.Sub(sc.busyLogged) >= busyLogEvery {
		sc.log.Warn("ack wait refused: "+reason, zap.Uint32("id", id), zap.Int("refused_since_last_log", sc.busy))
		sc.busy, sc.busyLogged = 0, now
	}
	sc.sendError(id, CodeBusy, reason)
}

func (sc *serverConn) sendError(id uint32, code ErrorCode, reason string) {
	sc.out.push(func(b []byte) []byte { return AppendError(b, id, code, reason) })
}

func (sc *serverConn) observe(st Status, start int64) {
	if obs := sc.s.opts.Observe; obs != nil {
		obs(st, time.Duration(sc.s.tr.clock()-start))
	}
}

// hint notes that the writer has written up to off; flushHint tells the
// tailer.
func (sc *serverConn) hint(off int64) { sc.hintAt = max(sc.hintAt, off) }

func (sc *serverConn) flushHint() {
	if sc.hintAt >= 0 && sc.s.h != nil {
		sc.s.h.Hint(sc.hintAt)
	}
	sc.hintAt = -1
}

// clamp bounds a timeout by MaxTimeout, logging once per connection.
func (sc *serverConn) clamp(d time.Duration) time.Duration {
	if d <= sc.s.opts.MaxTimeout {
		return d
	}
	if !sc.clamped {
		sc.clamped = true
		sc.log.Warn("ack wait timeout clamped", zap.Duration("timeout", d),
			zap.Duration("max_timeout", sc.s.opts.MaxTimeout))
	}
	return sc.s.opts.MaxTimeout
}

// writeLoop writes what the answering goroutines left for it, blocking
// on the socket, until the queue is closed and drained. After a failed
// write the queue closes the connection (which ends the reader) and drops
// the rest.
func (sc *serverConn) writeLoop() {
	for {
		<-sc.out.wake
		sc.out.flush(true)
		if sc.out.drained() {
			return
		}
	}
}
