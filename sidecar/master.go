package sidecar

import (
	"context"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/hasidecar/hasidecar/plugins"
	"github.com/hasidecar/hasidecar/sidecar/acceptloop"
	"github.com/hasidecar/hasidecar/sidecar/ack"
	"github.com/hasidecar/hasidecar/sidecar/haproto"
	"github.com/hasidecar/hasidecar/tailer"
)

// InitialRule says where a slave that reports 0 starts.
type InitialRule int

const (
	// InitialFull starts at the oldest segment still present.
	InitialFull InitialRule = iota
	// InitialLastSegment starts at the live segment's first byte (RocketMQ).
	InitialLastSegment
)

// ParseInitial parses "full" or "last-segment".
func ParseInitial(s string) (InitialRule, error) {
	switch s {
	case "full":
		return InitialFull, nil
	case "last-segment":
		return InitialLastSegment, nil
	}
	return 0, fmt.Errorf("initial %q: want full or last-segment", s)
}

// MasterConfig holds the master's settings. Zero values take the defaults.
type MasterConfig struct {
	Batch        int           // max frame body; default 32 KiB, at most haproto.MaxBody
	Heartbeat    time.Duration // idle interval before a heartbeat frame; default 5s
	Housekeeping time.Duration // a connection silent this long is closed; default 20s
	Initial      InitialRule
	ReportGrace  time.Duration // wait this long for the end to reach a slave's report; default 3s
	MaxSlaves    int           // 0: unlimited
	GapLog       time.Duration // log each slave's gap this often while slaves are connected; default 60s
	// Meta, if set, serves connections that open with the metadata magic
	// (package meta) on the same port, so they share its TLS and allow-list.
	Meta MetaServer
}

// MetaServer serves one metadata connection whose magic was already read.
type MetaServer interface {
	ServeConn(ctx context.Context, conn net.Conn)
}

func (c *MasterConfig) defaults() {
	if c.Batch <= 0 {
		c.Batch = haproto.DefaultBatch
	}
	c.Batch = min(c.Batch, haproto.MaxBody)
	if c.Heartbeat <= 0 {
		c.Heartbeat = 5 * time.Second
	}
	if c.Housekeeping <= 0 {
		c.Housekeeping = 20 * time.Second
	}
	if c.ReportGrace <= 0 {
		c.ReportGrace = 3 * time.Second
	}
	if c.GapLog <= 0 {
		c.GapLog = time.Minute
	}
}

// Master serves slaves from a tailed directory. It owns the goroutine that
// feeds the tracker the master's end, and one pair per slave connection.
type Master struct {
	log     *zap.Logger
	cfg     MasterConfig
	layout  plugins.Layout
	tail    *tailer.Tailer
	tracker *ack.Tracker

	mu     sync.Mutex
	nextID int
	conns  map[*masterConn]struct{}
	known  *knownEnds // positions earlier connections reached

	accepted     atomic.Int64
	refused      atomic.Int64
	heartbeat    atomic.Int64 // time.Duration; reloadable
	housekeeping atomic.Int64 // time.Duration; reloadable
}

// SetTimeouts changes the heartbeat and housekeeping intervals of every
// connection from its next wait on (a SIGHUP reload). Zero keeps a value.
func (m *Master) SetTimeouts(heartbeat, housekeeping time.Duration) {
	if heartbeat > 0 {
		m.heartbeat.Store(int64(heartbeat))
	}
	if housekeeping > 0 {
		m.housekeeping.Store(int64(housekeeping))
	}
}

func (m *Master) heartbeatEvery() time.Duration { return time.Duration(m.heartbeat.Load()) }
func (m *Master) idleLimit() time.Duration      { return time.Duration(m.housekeeping.Load()) }

// NewMaster builds a master over a running tailer and a tracker.
func NewMaster(log *zap.Logger, cfg MasterConfig, layout plugins.Layout, t *tailer.Tailer, tr *ack.Tracker) *Master {
	if log == nil {
		log = zap.NewNop()
	}
	cfg.defaults()
	m := &Master{log: log, cfg: cfg, layout: layout, tail: t, tracker: tr,
		conns: map[*masterConn]struct{}{}, known: newKnownEnds(1024)}
	m.SetTimeouts(cfg.Heartbeat, cfg.Housekeeping)
	return m
}

// Serve accepts slaves on ln until ctx ends, then closes every connection
// and waits for their goroutines. It closes ln.
func (m *Master) Serve(ctx context.Context, ln net.Listener) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	wg.Go(func() { m.followEnd(ctx) })
	wg.Go(func() { m.logGaps(ctx) })
	wg.Go(func() {
		<-ctx.Done()
		ln.Close()
	})
	defer wg.Wait()
	acc := acceptloop.New(m.log, ln, "HA port") // survives EMFILE and its kin
	for {
		conn, err := acc.Accept(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				continue
			}
			cancel() // ends the goroutines above: the deferred wg.Wait runs before the deferred cancel
			return fmt.Errorf("accept on %s: %w", ln.Addr(), err)
		}
		mc, ok := m.admit(conn)
		if !ok {
			continue
		}
		wg.Go(func() {
			defer m.drop(mc)
			mc.serve(ctx)
		})
	}
}

// admit registers a connection, or refuses it over the slave cap.
func (m *Master) admit(conn net.Conn) (*masterConn, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cfg.MaxSlaves > 0 && len(m.conns) >= m.cfg.MaxSlaves {
		m.refused.Add(1)
		m.log.Warn("refusing slave connection: too many slaves",
			zap.String("remote_addr", conn.RemoteAddr().String()), zap.Int("max_slaves", m.cfg.MaxSlaves))
		conn.Close()
		return nil, false
	}
	m.nextID++
	m.accepted.Add(1)
	id := fmt.Sprintf("%s#%d", conn.RemoteAddr(), m.nextID)
	mc := &masterConn{m: m, conn: conn, id: id, since: time.Now(),
		log: m.log.With(zap.String("slave", id))}
	m.conns[mc] = struct{}{}
	return mc, true
}

func (m *Master) drop(mc *masterConn) {
	m.mu.Lock()
	delete(m.conns, mc)
	m.mu.Unlock()
}

// followEnd keeps the tracker's view of the master's end current.
func (m *Master) followEnd(ctx context.Context) {
	for {
		ch := m.tail.Changed()
		m.tracker.SetMasterEnd(m.tail.State().End)
		select {
		case <-ctx.Done():
			return
		case <-ch:
		}
	}
}

// logGaps logs, every GapLog and only while slaves are connected, one line
// per slave with its acknowledged offset, the master's end and the gap, as
// RocketMQ's master does every minute.
func (m *Master) logGaps(ctx context.Context) {
	t := time.NewTicker(m.cfg.GapLog)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		st := m.Stats()
		if len(st.Slaves) == 0 {
			m.log.Debug("no slave connected: no gap to log")
		}
		for _, s := range st.Slaves {
			m.log.Info("slave replication gap", zap.String("slave", s.ID), zap.Int64("acked_offset", s.Acked),
				zap.Int64("master_end", st.End), zap.Int64("gap_bytes", st.End-s.Acked))
		}
	}
}

// Stats returns a point-in-time view for status and metrics. Only
// connections that are streaming are listed.
func (m *Master) Stats() MasterStats {
	st := m.tail.State()
	out := MasterStats{End: st.End, Oldest: st.Oldest, Segments: st.Segments,
		Connections: m.accepted.Load(), Refused: m.refused.Load()}
	m.mu.Lock()
	defer m.mu.Unlock()
	for c := range m.conns {
		if c.streaming.Load() {
			out.Slaves = append(out.Slaves, c.stats())
		}
	}
	return out
}

// waitFor blocks until cond holds for the tailer's state, ctx ends, or d passes.
func (m *Master) waitFor(ctx context.Context, d time.Duration, cond func(tailer.State) bool) (tailer.State, bool) {
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		ch := m.tail.Changed()
		st := m.tail.State()
		if cond(st) {
			return st, true
		}
		select {
		case <-ctx.Done():
			return st, false
		case <-timer.C:
			return st, false
		case <-ch:
		}
	}
}
