package faultproxy

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
)

// pconn is one proxied connection: the client's socket and the target's.
type pconn struct {
	client, server net.Conn
	ctx            context.Context // ends when the connection is closed
	cancel         context.CancelFunc
	once           sync.Once
	cutOnce        sync.Once
	cutting        atomic.Bool // an armed cut fired: bytes read are dropped
}

// cutDrain is how long a cut connection's ends may keep sending (dropped)
// before its sockets close.
const cutDrain = 200 * time.Millisecond

// cut ends the connection as a peer that closed it would: a FIN to both
// ends, after which what they still send is read and dropped for cutDrain
// before the sockets close. Closing at once with unread bytes queued sends
// a reset instead, and a reset can destroy bytes the other end had received
// but not yet read: the cut would not fall where it was armed.
func (c *pconn) cut() {
	c.cutOnce.Do(func() {
		c.cutting.Store(true)
		closeWrite(c.client)
		closeWrite(c.server)
		time.AfterFunc(cutDrain, c.close)
	})
}

func closeWrite(c net.Conn) {
	if tc, ok := c.(interface{ CloseWrite() error }); ok {
		_ = tc.CloseWrite()
		return
	}
	_ = c.Close()
}

func (c *pconn) close() {
	c.once.Do(func() {
		c.cancel()
		c.client.Close()
		c.server.Close()
	})
}

// accept runs until the listener is closed.
func (p *Proxy) accept() {
	for {
		cl, err := p.ln.Accept()
		if err != nil {
			if p.ctx.Err() == nil {
				p.log.Warn("faultproxy accept failed; stopping", zap.Error(err))
			}
			return
		}
		p.mu.Lock()
		p.stats.Conns++
		refuse := p.refuse
		p.mu.Unlock()
		if refuse {
			cl.Close()
			continue
		}
		p.wg.Go(func() { p.serve(cl) })
	}
}

// serve dials the target and pumps both directions until either ends.
func (p *Proxy) serve(cl net.Conn) {
	d := net.Dialer{Timeout: 5 * time.Second}
	srv, err := d.DialContext(p.ctx, "tcp", p.target)
	if err != nil {
		p.log.Warn("faultproxy dial target failed", zap.String("target", p.target), zap.Error(err))
		cl.Close()
		return
	}
	ctx, cancel := context.WithCancel(p.ctx)
	c := &pconn{client: cl, server: srv, ctx: ctx, cancel: cancel}
	p.mu.Lock()
	if p.ctx.Err() != nil { // Close ran between Accept and here
		p.mu.Unlock()
		c.close()
		return
	}
	p.conns[c] = struct{}{}
	p.mu.Unlock()
	var wg sync.WaitGroup
	wg.Go(func() { p.pump(c, Down, srv, cl) })
	wg.Go(func() { p.pump(c, Up, cl, srv) })
	wg.Wait()
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
}

// pump copies src to dst through the faults; any end closes the whole
// connection.
func (p *Proxy) pump(c *pconn, d Direction, src, dst net.Conn) {
	defer c.close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 && !c.cutting.Load() && !p.forward(c, d, dst, buf[:n]) {
			return
		}
		if err != nil {
			return
		}
	}
}

// forward writes b to dst after the delay, while not stalled, within the
// throttle, and honours an armed cut. It returns false when the connection
// is done.
func (p *Proxy) forward(c *pconn, d Direction, dst net.Conn, b []byte) bool {
	p.mu.Lock()
	delay := p.delay
	p.mu.Unlock()
	if delay > 0 && !sleepCtx(c.ctx, delay) {
		return false
	}
	for len(b) > 0 {
		if !p.waitRunning(c.ctx) {
			return false
		}
		chunk, cut := p.take(d, b)
		if !p.throttle(c.ctx, len(chunk)) {
			return false
		}
		if _, err := dst.Write(chunk); err != nil {
			return false
		}
		p.count(d, len(chunk))
		if cut {
			p.log.Info("faultproxy cut a connection after the armed byte count", zap.Stringer("direction", d))
			c.cut()
			return true // the pump drains until the ends close or cutDrain passes
		}
		b = b[len(chunk):]
	}
	return true
}

// take returns the next piece of b to write: small enough for the
// throttle's granularity, and ending exactly where an armed cut falls.
func (p *Proxy) take(d Direction, b []byte) ([]byte, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.rate > 0 {
		b = b[:min(int64(len(b)), max(p.rate/50, 1))] // ~20 ms slices keep the rate smooth
	}
	left := p.cutAfter[d]
	if left < 0 {
		return b, false
	}
	if left <= int64(len(b)) {
		p.cutAfter[d] = -1
		p.stats.Cuts++
		return b[:left], true
	}
	p.cutAfter[d] = left - int64(len(b))
	return b, false
}

func (p *Proxy) count(d Direction, n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if d == Down {
		p.stats.BytesDown += int64(n)
	} else {
		p.stats.BytesUp += int64(n)
	}
}

// waitRunning blocks while the proxy is stalled.
func (p *Proxy) waitRunning(ctx context.Context) bool {
	for {
		p.mu.Lock()
		stalled, ch := p.stalled, p.changed
		p.mu.Unlock()
		if !stalled {
			return ctx.Err() == nil
		}
		select {
		case <-ctx.Done():
			return false
		case <-ch:
		}
	}
}

// throttle reserves n bytes of the shared bandwidth and waits for them.
func (p *Proxy) throttle(ctx context.Context, n int) bool {
	p.mu.Lock()
	if p.rate <= 0 {
		p.mu.Unlock()
		return true
	}
	now := time.Now()
	if p.next.Before(now) {
		p.next = now
	}
	wait := p.next.Sub(now)
	p.next = p.next.Add(time.Duration(int64(n) * int64(time.Second) / p.rate))
	p.mu.Unlock()
	return wait <= 0 || sleepCtx(ctx, wait)
}

// sleepCtx waits d; false if ctx ended first. A fault's delay is the
// condition itself here, so a timer is what the test asked for.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
