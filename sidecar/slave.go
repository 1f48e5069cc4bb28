package sidecar

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/hasidecar/hasidecar/applier"
	"github.com/hasidecar/hasidecar/plugins"
	"github.com/hasidecar/hasidecar/sidecar/lineage"
)

// AckAfter says which end a slave acknowledges.
type AckAfter int

const (
	// AckAfterWrite acknowledges bytes written to the page cache
	// (PostgreSQL's remote_write).
	AckAfterWrite AckAfter = iota
	// AckAfterFsync acknowledges bytes fsynced and checkpointed
	// (PostgreSQL's on / remote_flush).
	AckAfterFsync
)

// ParseAckAfter parses "write" or "fsync".
func ParseAckAfter(s string) (AckAfter, error) {
	switch s {
	case "write":
		return AckAfterWrite, nil
	case "fsync":
		return AckAfterFsync, nil
	}
	return 0, fmt.Errorf("ack-after %q: want write or fsync", s)
}

// SlaveConfig holds the slave's settings. Zero values take the defaults.
type SlaveConfig struct {
	Master       string        // host:port of the master sidecar or broker
	Classic      bool          // skip the hello: the master is a RocketMQ broker
	AckAfter     AckAfter      //
	Heartbeat    time.Duration // report at least this often; default 5s
	Housekeeping time.Duration // drop a connection silent this long; default 20s
	MinBackoff   time.Duration // default 100ms
	MaxBackoff   time.Duration // default 5s
	DialTimeout  time.Duration // default 5s
	// SyncEvery is how soon the sync loop retries a due interval sync that
	// did not happen (it failed); default 100ms. Otherwise the loop sleeps
	// until the applier's next sync is due, and while nothing is unsynced
	// it does not wake for syncing at all.
	SyncEvery time.Duration
	// StopOnRefusal makes Run return ErrRefused when the master refuses this
	// slave for good (layout mismatch, divergence, reseed needed). By
	// default the slave stays up in that state, visible in its status and
	// metrics, and retries every MaxBackoff in case an operator fixes the cause.
	StopOnRefusal bool
	// TLS, if set, wraps every connection to the master (replication and
	// metadata) in mutual TLS. Not RocketMQ-compatible.
	TLS *tls.Config
	// Name is sent in the hello; the master labels this slave with it in
	// status and metrics. Default: the host name. haproto.CheckName says
	// what is allowed; a bad name is refused before connecting.
	Name string
	// StallAfter is how long the slave may receive nothing at all (not
	// even a heartbeat) before it calls itself stalled; default 3 heartbeats.
	StallAfter time.Duration
	// SegmentSizeFromMaster lets a slave that holds no data take the
	// master's segment size when the master refuses it for that difference
	// alone: the slave closes its applier and calls Reopen with the
	// master's size. A slave holding data is refused, naming both sizes.
	SegmentSizeFromMaster bool
	// Reopen, needed by SegmentSizeFromMaster, opens the slave's directory
	// again with another segment size and returns the new layout and
	// applier; the slave's applier is closed when it is called, and the
	// caller owns closing the returned one as it did the first. The empty
	// applier's checkpoint records the old size: Reopen moves it aside
	// (applier.MoveAside) before applier.Open.
	Reopen func(segmentSize int64) (plugins.Layout, *applier.Applier, error)
	// Lineage, if set, is the slave's segment lineage store (in its state
	// directory): applied bytes are hashed into it, the hello offers it,
	// and the scrub compares the files with it. The caller opens and
	// closes it. nil: no lineage, no scrub.
	Lineage *lineage.Store
	// TruncateDiverged makes a slave the master refuses as diverged, naming
	// the common point, cut itself back to the last record boundary at or
	// below it (applier.CutAt: the cut bytes are kept under the state
	// directory) and reconnect, instead of staying refused.
	TruncateDiverged bool
	// ScrubRate is the bytes per second the continuous scrub re-reads of
	// the slave's own files (slave_scrub.go); 0 is off. Needs Lineage.
	ScrubRate int64
	// ScrubPause is the rest between two scrub passes (default 10s): a
	// small replica is not re-read many times a second, a large one is
	// read continuously at ScrubRate anyway.
	ScrubPause time.Duration
	// DialDigests, if set, opens a digest channel to the master
	// (sidecar/digest); the scrub then also compares with the master's
	// block digests. nil: the scrub compares with the slave's own lineage only.
	DialDigests func(ctx context.Context) (DigestSource, error)
}

func (c *SlaveConfig) defaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.Heartbeat, 5*time.Second)
	def(&c.Housekeeping, 20*time.Second)
	def(&c.MinBackoff, 100*time.Millisecond)
	def(&c.MaxBackoff, 5*time.Second)
	def(&c.DialTimeout, 5*time.Second)
	def(&c.SyncEvery, 100*time.Millisecond)
	def(&c.StallAfter, 3*c.Heartbeat)
	def(&c.ScrubPause, 10*time.Second)
	if c.Name == "" {
		c.Name, _ = os.Hostname() // none: the master names the slave by its address
	}
}

// Slave replicates from a master into an applier.
type Slave struct {
	log    *zap.Logger
	cfg    SlaveConfig
	layout plugins.Layout

	mu  sync.Mutex // guards app: the receive loop and the sync ticker share it
	app *applier.Applier

	nudge chan struct{}              // wakes the reporter when the ackable end may have moved
	sink  atomic.Pointer[reportSink] // the session's report writer, once its first report is out
	sync  syncWaker                  // wakes the sync loop when bytes become unsynced (slave_sync.go)

	acked      atomic.Int64
	reconnects atomic.Int64
	state      *stateCell[SlaveState]
	lastFrame  atomic.Int64 // unix nanoseconds of the last frame, heartbeats included
	helloEnd   atomic.Int64 // the master's end in its hello reply; 0: unknown
	reports    atomic.Int32 // the session's report format, agreed in the hello (slave_report2.go)
	stateMu    sync.Mutex
	lastErr    string

	lin   *replicaLineage // nil without SlaveConfig.Lineage
	cutMu sync.RWMutex    // a cut (write) excludes a scrub read and compare (read)
	scrub scrubStats
	// acceptedC is closed when a master first accepted a session: the
	// layout and the applier no longer change (an empty slave may take the
	// master's segment size in its first hello), so the scrub may start.
	accepted  sync.Once
	acceptedC chan struct{}
	// scrubbed is set once the scrub found bytes that differ: the state
	// stays diverged (and readiness fails) until a restart.
	scrubbed atomic.Pointer[string]
}

// setState moves the slave's state machine; a reason is also kept as the
// last error.
func (s *Slave) setState(st SlaveState, reason string) {
	if bad := s.scrubbed.Load(); bad != nil && st != SlaveDiverged {
		return // the scrub found differing bytes: diverged until a restart
	}
	s.state.set(s.log, st.level(), st, reason)
	if reason != "" {
		s.noteErr(errors.New(reason))
	}
}

// Stats returns a point-in-time view for status and metrics.
func (s *Slave) Stats() SlaveStats {
	s.mu.Lock()
	written, synced := s.app.End(), s.app.Synced()
	s.mu.Unlock()
	st, reason, since := s.state.get()
	s.stateMu.Lock()
	defer s.stateMu.Unlock()
	return SlaveStats{Name: s.cfg.Name, State: st, Reason: reason, Master: s.cfg.Master, Written: written, Synced: synced,
		Acked: s.acked.Load(), Reconnects: s.reconnects.Load(), LastError: s.lastErr, Since: since,
		ScrubVerified: s.scrub.verified.Load(), ScrubBytes: s.scrub.bytes.Load(), ScrubMismatches: s.scrub.mismatches.Load()}
}

// NewSlave builds a slave over an opened (recovered) applier.
func NewSlave(log *zap.Logger, cfg SlaveConfig, layout plugins.Layout, app *applier.Applier) *Slave {
	if log == nil {
		log = zap.NewNop()
	}
	cfg.defaults()
	s := &Slave{log: log.With(zap.String("slave_name", cfg.Name)), cfg: cfg, layout: layout, app: app,
		nudge: make(chan struct{}, 1), sync: newSyncWaker(), state: newStateCell(SlaveConnecting), acceptedC: make(chan struct{})}
	if cfg.Lineage != nil {
		// Nothing is written by this process yet: every stamp is checked.
		s.lin = &replicaLineage{store: cfg.Lineage, stampedTo: app.Synced(), seenTo: app.Synced()}
	}
	return s
}

// Run connects, replicates and reconnects with capped back-off until ctx
// ends (nil) or the master refuses this slave for good (ErrRefused). The
// back-off starts over after a session that moved the slave's end: a link
// that drops every few frames still makes progress, and waiting longer
// each time would only slow it down.
func (s *Slave) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	defer s.stampAtExit() // after the loops stopped: the last writes are stamped as ours
	defer wg.Wait()       // runs after cancel: defers are last in, first out
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	wg.Go(func() { s.syncLoop(ctx) })
	if s.lin != nil && s.cfg.ScrubRate > 0 {
		wg.Go(func() { s.scrubLoop(ctx) })
	}
	bo := newBackoff(s.cfg.MinBackoff, s.cfg.MaxBackoff)
	refused := false
	for n := 0; ctx.Err() == nil; n++ {
		if n > 0 {
			s.reconnects.Add(1)
		}
		if !refused { // a refused slave stays refused until a hello succeeds
			s.setState(SlaveConnecting, "")
		}
		start, from := time.Now(), s.End()
		err := s.session(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if errors.Is(err, errAdopted) {
			continue // reconnect at once with the master's segment size
		}
		if s.truncateDiverged(err) {
			refused = false
			continue // cut back to the common point: reconnect at once
		}
		if refused = errors.Is(err, ErrRefused); refused {
			if err := s.onRefusal(ctx, err); err != nil {
				return err
			}
			continue
		}
		s.noteErr(err)
		if cur, _, _ := s.state.get(); cur != SlaveWriteFailed && err != nil {
			s.setState(SlaveConnecting, "reconnecting: "+err.Error())
		}
		progressed := s.End() > from
		if progressed || time.Since(start) > s.cfg.MaxBackoff {
			bo.reset() // the session moved the slave on, or worked for a while
		}
		d := bo.next()
		s.logRetry(err, d, progressed)
		sleepCtx(ctx, d)
	}
	return nil
}

// onRefusal handles a refusal for good: it returns err when the slave
// stops on one, else waits MaxBackoff in the refused state.
func (s *Slave) onRefusal(ctx context.Context, err error) error {
	s.setState(refusalState(err), err.Error())
	if s.cfg.StopOnRefusal {
		s.log.Error("master refused this slave; stopping", append(refusalFields(err), zap.Error(err))...)
		return err
	}
	s.log.Error("master refused this slave; retrying later",
		append(refusalFields(err), zap.Error(err), zap.Duration("backoff", s.cfg.MaxBackoff))...)
	sleepCtx(ctx, s.cfg.MaxBackoff)
	return nil
}

func (s *Slave) noteErr(err error) {
	if err == nil {
		return
	}
	s.stateMu.Lock()
	s.lastErr = err.Error()
	s.stateMu.Unlock()
}

// logRetry says why the slave reconnects and after which back-off; a
// master that turned it away gives its reason.
func (s *Slave) logRetry(err error, d time.Duration, progressed bool) {
	fields := []zap.Field{zap.Error(err), zap.Int64("end_offset", s.End()),
		zap.Duration("backoff", d), zap.Bool("progressed", progressed)}
	if errors.Is(err, errTurnedAway) {
		s.log.Warn("master turned this slave away; retrying", append(fields, refusalFields(err)...)...)
		return
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Op == "dial" { // never connected: nothing was lost
		s.log.Warn("cannot connect to master; retrying", fields...)
		return
	}
	s.log.Warn("replication connection lost; reconnecting", fields...)
}

// refusalState is the state a refusal leaves a slave in.
func refusalState(err error) SlaveState {
	switch {
	case errors.Is(err, ErrNeedsReseed):
		return SlaveNeedsReseed
	case errors.Is(err, ErrDiverged):
		return SlaveDiverged
	}
	return SlaveRefused
}

// End is the slave's written end.
func (s *Slave) End() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.app.End()
}

// ackable is the end this slave may acknowledge under its policy.
func (s *Slave) ackable() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cfg.AckAfter == AckAfterFsync {
		return s.app.Synced()
	}
	return s.app.End()
}

func (s *Slave) poke() {
	select {
	case s.nudge <- struct{}{}:
	default:
	}
}

// Dial connects to the master as replication does (TLS included); the
// metadata client uses it too.
func (s *Slave) Dial(ctx context.Context) (net.Conn, error) {
	d := net.Dialer{Timeout: s.cfg.DialTimeout, KeepAlive: 30 * time.Second}
	conn, err := d.DialContext(ctx, "tcp", s.cfg.Master)
	if err != nil {
		return nil, fmt.Errorf("dial master %s: %w", s.cfg.Master, err)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetNoDelay(true)
	}
	if s.cfg.TLS == nil {
		return conn, nil
	}
	tc := tls.Client(conn, s.cfg.TLS)
	hctx, cancel := context.WithTimeout(ctx, s.cfg.DialTimeout)
	defer cancel()
	if err := tc.HandshakeContext(hctx); err != nil {
		conn.Close()
		return nil, fmt.Errorf("TLS handshake with master %s: %w", s.cfg.Master, err)
	}
	return tc, nil
}
