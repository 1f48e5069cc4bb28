package sidecar

import (
	"cmp"
	"context"
	"fmt"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/hasidecar/hasidecar/plugins"
	"github.com/hasidecar/hasidecar/sidecar/acceptloop"
	"github.com/hasidecar/hasidecar/sidecar/ack"
	"github.com/hasidecar/hasidecar/sidecar/haproto"
	"github.com/hasidecar/hasidecar/sidecar/lineage"
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
	// ZeroGrace is how long a classic slave whose first report is 0 may take
	// to send another one that supersedes it (a fork sends 0 and then its
	// real offset, which may land in a second TCP segment); default 20ms.
	ZeroGrace time.Duration
	MaxSlaves int // replication connections; 0: unlimited
	// MaxMetaConns caps metadata connections, counted apart from
	// replication so that they never lock slaves out; 0: unlimited.
	MaxMetaConns int
	// MaxPending caps connections that have not yet sent the 8 bytes that
	// say what they are (a 4.x slave sends them ~5 s after connecting);
	// default the larger of 64 and MaxSlaves+MaxMetaConns.
	MaxPending int
	GapLog     time.Duration // log each slave's gap this often while slaves are connected; default 60s
	// StallAfter is how long a slave's acknowledgements may stand still
	// while the master holds data beyond them before its connection is
	// stalled; default 3 heartbeats (follows SetTimeouts).
	StallAfter time.Duration
	// Meta, if set, serves connections that open with the metadata magic
	// (package meta) on the same port, so they share its TLS and allow-list.
	Meta MetaServer
	// Lineage, if set, is the store the master hashes every published byte
	// into (master_feed.go): the hello then compares a slave's lineage and
	// the digest channel answers digests. The caller opens and closes it;
	// Dir is the segment directory, whose files' size and mtime stamp it.
	Lineage *lineage.Store
	Dir     string
	// MaxDigestConns caps digest-channel connections (master_digest.go),
	// counted apart from slaves and metadata; 0: unlimited.
	MaxDigestConns int
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
	if c.ZeroGrace <= 0 {
		c.ZeroGrace = 20 * time.Millisecond
	}
	if c.MaxPending <= 0 {
		c.MaxPending = max(64, c.MaxSlaves+c.MaxMetaConns)
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
	feed    *feeder      // nil without a lineage store
	digests digestCounts // what the digest channel served

	mu      sync.Mutex
	nextID  int
	conns   map[*masterConn]struct{}
	counts  [numKinds]int       // connections in m.conns by kind
	known   *knownEnds          // positions earlier connections reached
	divs    []tailer.Divergence // past divergences, oldest first; bounded
	state   *stateCell[MasterState]
	started time.Time

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
		conns: map[*masterConn]struct{}{}, known: newKnownEnds(1024),
		state: newStateCell(MasterStarting), started: time.Now()}
	m.SetTimeouts(cfg.Heartbeat, cfg.Housekeeping)
	if cfg.Lineage != nil {
		m.feed = newFeeder(log.Named("lineage"), cfg.Lineage, t, layout, cfg.Dir)
	}
	t.OnDiverge(m.onDiverge)
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
	wg.Go(func() { m.watchStates(ctx) })
	if m.feed != nil {
		wg.Go(func() { m.feed.run(ctx) })
	}
	wg.Go(func() {
		<-ctx.Done()
		ln.Close()
		m.closeConns() // a peer still handshaking, or a write it never reads, must not hold the shutdown
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
		mc, ok := m.register(conn)
		if !ok {
			continue
		}
		if ctx.Err() != nil { // accepted as the shutdown began: closeConns may have run already
			conn.Close()
		}
		wg.Go(func() {
			defer m.drop(mc)
			mc.serve(ctx)
		})
	}
}

// register tracks a new connection as pending, or refuses it when too
// many connections have not said yet what they are. Slots are claimed once
// they have (claim): a metadata poller must not hold a slave's slot.
func (m *Master) register(conn net.Conn) (*masterConn, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if n := m.counts[kindPending]; n >= m.cfg.MaxPending {
		m.refused.Add(1)
		m.log.Warn("refusing connection: too many connections have not sent their first bytes yet",
			zap.String("remote_addr", conn.RemoteAddr().String()), zap.Int("pending", n), zap.Int("max_pending", m.cfg.MaxPending))
		conn.Close()
		return nil, false
	}
	m.nextID++
	id := fmt.Sprintf("%s#%d", conn.RemoteAddr(), m.nextID)
	mc := newMasterConn(m, conn, id)
	m.conns[mc] = struct{}{}
	m.counts[kindPending]++
	return mc, true
}

// claim moves a pending connection to the slots of kind, under that
// kind's cap.
func (m *Master) claim(mc *masterConn, kind connKind) error {
	limit := m.cfg.MaxSlaves
	switch kind {
	case kindMeta:
		limit = m.cfg.MaxMetaConns
	case kindDigest:
		limit = m.cfg.MaxDigestConns
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if n := m.counts[kind]; limit > 0 && n >= limit {
		m.refused.Add(1)
		return &capError{kind: kind, n: n, max: limit}
	}
	m.counts[mc.kind]--
	m.counts[kind]++
	mc.kind = kind
	if kind == kindReplication {
		m.accepted.Add(1)
	}
	return nil
}

// closeConns closes every connection the master holds, streaming or not.
func (m *Master) closeConns() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for c := range m.conns {
		c.conn.Close()
	}
}

func (m *Master) drop(mc *masterConn) {
	m.mu.Lock()
	delete(m.conns, mc)
	m.counts[mc.kind]--
	m.mu.Unlock()
}

// connKind is what a connection turned out to be after its first 8 bytes.
type connKind int

const (
	kindPending connKind = iota
	kindReplication
	kindMeta
	kindDigest
	numKinds
)

// capError is a connection refused because its kind's slots are full. Its
// text is what a refused sidecar slave is told.
type capError struct {
	kind   connKind
	n, max int
}

func (e *capError) Error() string {
	what := "slaves"
	switch e.kind {
	case kindMeta:
		what = "metadata connections"
	case kindDigest:
		what = "digest connections"
	}
	return fmt.Sprintf("too many %s connected (%d of %d)", what, e.n, e.max)
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

// Stats returns a point-in-time view for status and metrics, states
// evaluated afresh. Only connections that are streaming are listed.
func (m *Master) Stats() MasterStats {
	m.evaluate(time.Now())
	st := m.tail.State()
	ms, reason, _ := m.state.get()
	out := MasterStats{State: ms, StateReason: reason, End: st.End, Oldest: st.Oldest, Segments: st.Segments,
		Connections: m.accepted.Load(), Refused: m.refused.Load(), Diverged: st.Diverged, Stalled: st.Stalled,
		Digest: m.digests.stats()}
	if m.feed != nil {
		out.Lineage = m.feed.stats()
	}
	for _, c := range m.streamingConns() {
		out.Slaves = append(out.Slaves, c.stats())
	}
	slices.SortFunc(out.Slaves, func(a, b SlaveConnStats) int {
		return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.ID, b.ID))
	})
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
