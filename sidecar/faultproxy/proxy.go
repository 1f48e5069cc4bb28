package faultproxy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"go.uber.org/zap"
)

// Direction is one half of a proxied connection.
type Direction int

const (
	// Down carries the target's bytes to the client (master to slave).
	Down Direction = iota
	// Up carries the client's bytes to the target (slave to master).
	Up
)

func (d Direction) String() string {
	if d == Down {
		return "down"
	}
	return "up"
}

// Stats counts what the proxy did since it started.
type Stats struct {
	Conns     int64 // connections accepted (refused ones included)
	Active    int   // connections open now
	BytesDown int64 // bytes forwarded target -> client
	BytesUp   int64 // bytes forwarded client -> target
	Cuts      int64 // connections closed by CutAll or CutAfter
}

// Proxy forwards connections from its listener to a target, with faults.
type Proxy struct {
	log    *zap.Logger
	target string
	ln     net.Listener
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu       sync.Mutex
	conns    map[*pconn]struct{}
	changed  chan struct{} // closed and replaced when stall changes
	stalled  bool
	refuse   bool
	delay    time.Duration
	rate     int64     // bytes/s over all connections; 0 = unlimited
	next     time.Time // when the throttle lets the next byte through
	cutAfter [2]int64  // per direction: bytes left before a cut; <0 = disarmed
	stats    Stats
}

// New listens on 127.0.0.1:0 and forwards each connection to target until
// Close.
func New(log *zap.Logger, target string) (*Proxy, error) {
	if log == nil {
		log = zap.NewNop()
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("faultproxy listen: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &Proxy{log: log, target: target, ln: ln, ctx: ctx, cancel: cancel,
		conns: map[*pconn]struct{}{}, changed: make(chan struct{}), cutAfter: [2]int64{-1, -1}}
	p.wg.Go(p.accept)
	return p, nil
}

// Addr is the proxy's listening address, host:port.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Close stops accepting, closes every connection and waits for every
// goroutine of the proxy. It may be called more than once.
func (p *Proxy) Close() error {
	p.cancel()
	err := p.ln.Close()
	p.CutAll()
	p.wg.Wait()
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	return err
}

// SetDelay makes every chunk wait d before it is forwarded; 0 disables.
func (p *Proxy) SetDelay(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.delay = d
}

// Stall stops forwarding in both directions; connections stay open.
func (p *Proxy) Stall() { p.setStall(true) }

// Resume ends a Stall.
func (p *Proxy) Resume() { p.setStall(false) }

func (p *Proxy) setStall(on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stalled == on {
		return
	}
	p.stalled = on
	close(p.changed)
	p.changed = make(chan struct{})
}

// Throttle limits the bandwidth of all connections together to
// bytesPerSec; 0 removes the limit.
func (p *Proxy) Throttle(bytesPerSec int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rate = max(bytesPerSec, 0)
	p.next = time.Time{}
}

// Refuse makes the proxy close new connections as soon as it accepts them
// (on) or forward them again (off). Open connections are not affected.
func (p *Proxy) Refuse(on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.refuse = on
}

// CutAfter arms a one-shot cut: after n more bytes are forwarded in
// direction d (on any connection), that connection is closed, possibly in
// the middle of what its peer wrote. n < 0 disarms.
func (p *Proxy) CutAfter(d Direction, n int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cutAfter[d] = n
}

// CutAll closes every open connection now and returns how many it closed.
func (p *Proxy) CutAll() int {
	p.mu.Lock()
	cs := make([]*pconn, 0, len(p.conns))
	for c := range p.conns {
		cs = append(cs, c)
	}
	p.stats.Cuts += int64(len(cs))
	p.mu.Unlock()
	for _, c := range cs {
		c.close()
	}
	if len(cs) > 0 {
		p.log.Info("faultproxy cut all connections", zap.Int("conns", len(cs)))
	}
	return len(cs)
}

// Stats returns the counters.
func (p *Proxy) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.stats
	s.Active = len(p.conns)
	return s
}
