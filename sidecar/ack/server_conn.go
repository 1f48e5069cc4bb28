package ack

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
)

const (
	// preambleTimeout bounds how long a silent client holds a connection
	// before sending its preamble.
	preambleTimeout = 5 * time.Second
	// maxInflight bounds one connection's outstanding WAITs and QUERYs.
	maxInflight = 1 << 16
)

// serverConn is one client connection: a reader (serve), one goroutine per
// outstanding WAIT, and one writer that batches whatever answers are ready
// into a single write. serve owns them all and returns after they end.
type serverConn struct {
	s        *Server
	c        net.Conn
	log      *zap.Logger
	out      chan []byte
	inflight atomic.Int64
	clamped  atomic.Bool
	waits    sync.WaitGroup
}

func newServerConn(s *Server, c net.Conn, id uint64) *serverConn {
	return &serverConn{s: s, c: c, log: s.log.With(zap.Uint64("conn", id)), out: make(chan []byte, 256)}
}

func (sc *serverConn) serve(ctx context.Context) {
	ctx, cancel := context.WithCancel(ctx)
	writerDone := make(chan struct{})
	go func() { defer close(writerDone); sc.writeLoop() }()
	err := sc.readLoop(ctx)
	cancel() // abandons this connection's waits
	sc.waits.Wait()
	close(sc.out)
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
		body, err := ReadFrame(r, buf, MaxRequest)
		if errors.Is(err, ErrBadFrame) {
			sc.send(ctx, AppendError(nil, 0, CodeFrame, err.Error()))
			return err
		}
		if err != nil {
			return err
		}
		req, err := DecodeRequest(body)
		if rerr := (*RequestError)(nil); errors.As(err, &rerr) {
			sc.log.Warn("bad ack request", zap.Uint32("id", rerr.ID), zap.String("reason", rerr.Reason))
			sc.send(ctx, AppendError(nil, rerr.ID, rerr.Code, rerr.Reason))
			continue
		}
		sc.dispatch(ctx, req)
	}
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

func (sc *serverConn) dispatch(ctx context.Context, req Request) {
	if req.Type == TypeWritten {
		sc.hint(req.Offset)
		return
	}
	if sc.inflight.Add(1) > maxInflight {
		sc.inflight.Add(-1)
		sc.log.Warn("too many ack requests in flight", zap.Uint32("id", req.ID))
		sc.send(ctx, AppendError(nil, req.ID, CodeBusy, "too many requests in flight"))
		return
	}
	if req.Type == TypeQuery {
		sc.send(ctx, AppendSnapshot(nil, req.ID, sc.s.tr.Snapshot()))
		sc.inflight.Add(-1)
		return
	}
	sc.hint(req.Offset)
	d := sc.clamp(req.Timeout)
	sc.waits.Add(1)
	go func() {
		defer sc.waits.Done()
		defer sc.inflight.Add(-1)
		t0 := time.Now()
		wctx, cancel := context.WithTimeout(ctx, d)
		res := sc.s.tr.Wait(wctx, req.Offset)
		cancel()
		if obs := sc.s.opts.Observe; obs != nil {
			obs(res.Status, time.Since(t0))
		}
		sc.send(ctx, AppendResult(nil, req.ID, res))
	}()
}

func (sc *serverConn) hint(off int64) {
	if sc.s.h != nil {
		sc.s.h.Hint(off)
	}
}

// clamp bounds a timeout by MaxTimeout, logging once per connection.
func (sc *serverConn) clamp(d time.Duration) time.Duration {
	if d <= sc.s.opts.MaxTimeout {
		return d
	}
	if !sc.clamped.Swap(true) {
		sc.log.Warn("ack wait timeout clamped", zap.Duration("timeout", d),
			zap.Duration("max_timeout", sc.s.opts.MaxTimeout))
	}
	return sc.s.opts.MaxTimeout
}

// send queues a response unless the connection is going away.
func (sc *serverConn) send(ctx context.Context, b []byte) {
	select {
	case sc.out <- b:
	case <-ctx.Done():
	}
}

// writeLoop writes queued responses, coalescing those already waiting
// (a group commit wakes many waiters at once) into one write.
func (sc *serverConn) writeLoop() {
	var buf []byte
	var failed bool
	for b := range sc.out {
		buf = append(buf[:0], b...)
	more:
		for len(buf) < 64<<10 {
			select {
			case b2, ok := <-sc.out:
				if !ok {
					break more
				}
				buf = append(buf, b2...)
			default:
				break more
			}
		}
		if failed {
			continue // keep draining so senders never block
		}
		if _, err := sc.c.Write(buf); err != nil {
			failed = true
			sc.c.Close() // wakes the reader
		}
	}
}
