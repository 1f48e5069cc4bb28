package ack

import (
	"sync"
	"sync/atomic"
	"time"
)

// Replica is one slave connection's progress: the single record of it.
// The master's sender and acknowledgement reader write it, and the tracker
// (committed offset, STATUS), the master's status and its metrics all read
// it, so no two views of one slave can disagree. Counters are atomics read
// without any lock; Acked changes only through Tracker.Ack, under the
// tracker's lock, because it moves the committed offset.
type Replica struct {
	ID          string
	Addr        string
	ConnectedAt time.Time

	sent       atomic.Int64 // end of the bytes handed to a write (an ack above it is a lie)
	written    atomic.Int64 // end of the bytes the socket took (acks count up to it)
	reported   atomic.Int64 // the slave's last report, counted or not
	acked      atomic.Int64 // the acknowledgement that counts toward WAITs
	bytes      atomic.Int64 // body bytes sent
	frames     atomic.Int64 // frames sent, heartbeats included
	lastReport atomic.Int64 // unix nanoseconds of the last report
	advancedAt atomic.Int64 // unix nanoseconds of the last report that moved reported
	tainted    atomic.Bool  // sent bytes that were rewritten (Tracker.Diverge)
	ackLag     atomic.Int64 // nanoseconds from a write to the first report covering it (last advance)

	wmu    sync.Mutex
	writes []writeMark   // recent writes, oldest first, for ackLag; bounded by maxWriteMarks
	prog   slaveProgress // an extended slave's written and synced ends (replica_progress.go)

	mu      sync.Mutex
	name    string
	sidecar bool
	state   string
	reason  string
	since   time.Time
}

// NewReplica returns the record of a new connection, in state.
func NewReplica(id, addr, state string) *Replica {
	now := time.Now()
	r := &Replica{ID: id, Addr: addr, ConnectedAt: now, name: addr, state: state, since: now}
	r.lastReport.Store(now.UnixNano())
	r.advancedAt.Store(now.UnixNano())
	r.prog.reset(0)
	return r
}

// Sent is the end of the bytes handed to the socket.
func (r *Replica) Sent() int64 { return r.sent.Load() }

// Written is the end of the bytes the socket took: a write returned.
func (r *Replica) Written() int64 { return r.written.Load() }

// writeMark is when a write of the bytes up to end returned.
type writeMark struct {
	end int64
	at  int64 // unix nanoseconds
}

// maxWriteMarks bounds the writes remembered for the acknowledgement lag;
// past it the oldest is dropped, and a lag measured against the next one
// reads shorter than it was only for a slave more than that many writes
// behind.
const maxWriteMarks = 1024

// SetWritten records that a write of the bytes up to end returned.
func (r *Replica) SetWritten(end int64) {
	r.written.Store(end)
	r.wmu.Lock()
	defer r.wmu.Unlock()
	if n := len(r.writes); n > 0 && r.writes[n-1].end >= end {
		return // a heartbeat: no new byte to time
	}
	if len(r.writes) == maxWriteMarks {
		r.writes = append(r.writes[:0], r.writes[1:]...)
	}
	r.writes = append(r.writes, writeMark{end: end, at: time.Now().UnixNano()})
}

// AckLag is, for the last report that advanced, how long after the master
// wrote the last byte it covers the slave reported it: what PostgreSQL calls
// write_lag or flush_lag, depending on the slave's --ack-after.
func (r *Replica) AckLag() time.Duration { return time.Duration(r.ackLag.Load()) }

// measureLag sets AckLag for a report of off received at now (unix ns):
// the write that carried byte off-1 is the first one ending at or past off.
func (r *Replica) measureLag(off, now int64) {
	r.wmu.Lock()
	defer r.wmu.Unlock()
	i := 0
	for i < len(r.writes) && r.writes[i].end < off {
		i++
	}
	if i == len(r.writes) {
		return // covers no write this connection made (its start)
	}
	r.ackLag.Store(now - r.writes[i].at)
	floor := r.lagFloor(off) // an extended slave's synced end may still need them
	for i = 0; i < len(r.writes) && r.writes[i].end <= floor; i++ {
	}
	r.writes = append(r.writes[:0], r.writes[i:]...)
}

// Acked is the acknowledgement that counts toward WAITs.
func (r *Replica) Acked() int64 { return r.acked.Load() }

// Reported is the slave's last report, whether or not it counts.
func (r *Replica) Reported() int64 { return r.reported.Load() }

// Taint marks the replica as sent bytes that were rewritten: its
// acknowledgements stop counting.
func (r *Replica) Taint() { r.tainted.Store(true) }

// Tainted reports whether the replica was sent bytes that were rewritten.
func (r *Replica) Tainted() bool { return r.tainted.Load() }

// AdvancedAt is when a report last moved Reported.
func (r *Replica) AdvancedAt() time.Time { return time.Unix(0, r.advancedAt.Load()) }

// StartAt records where streaming starts: nothing sent below start is
// this connection's, and first is the slave's request.
func (r *Replica) StartAt(start, first int64) {
	r.sent.Store(start)
	r.written.Store(start)
	r.reported.Store(first)
	r.prog.reset(start)
}

// SetSent records that the bytes up to end were handed to the socket, in
// frames frames carrying body bytes. Call it before the write: a fast
// slave's acknowledgement must never look like a lie.
func (r *Replica) SetSent(end, body, frames int64) {
	r.sent.Store(end)
	r.bytes.Add(body)
	r.frames.Add(frames)
}

// Report records a report of off and says whether it moved Reported.
func (r *Replica) Report(off int64) bool {
	now := time.Now().UnixNano()
	r.lastReport.Store(now)
	if off <= r.reported.Load() {
		return false
	}
	r.reported.Store(off)
	r.advancedAt.Store(now)
	r.measureLag(off, now)
	return true
}

// SetName names the replica (a sidecar's hello name); sidecar says the
// slave sent a hello.
func (r *Replica) SetName(name string, sidecar bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if name != "" {
		r.name = name
	}
	r.sidecar = r.sidecar || sidecar
}

// Name is the hello's name, else the address.
func (r *Replica) Name() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.name
}

// IsSidecar reports whether the slave sent a hello.
func (r *Replica) IsSidecar() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.sidecar
}

// SetState moves to state with reason. It returns the old state and
// whether the state or the reason changed; since moves only with the state.
func (r *Replica) SetState(state, reason string) (old string, changed bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	old, oldReason := r.state, r.reason
	r.reason = reason
	if old != state {
		r.state, r.since = state, time.Now()
	}
	return old, old != state || oldReason != reason
}

// State returns the state, its reason and when it was entered.
func (r *Replica) State() (state, reason string, since time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.state, r.reason, r.since
}

// Status is a point-in-time copy, for STATUS, status and metrics.
func (r *Replica) Status() ReplicaStatus {
	state, reason, since := r.State()
	s := ReplicaStatus{ID: r.ID, Addr: r.Addr, Name: r.Name(), Sidecar: r.IsSidecar(), State: state, Reason: reason,
		StateSince: since, Sent: r.Sent(), Reported: r.Reported(), Acked: r.Acked(), BytesSent: r.bytes.Load(),
		FramesSent: r.frames.Load(), ConnectedAt: r.ConnectedAt, LastReportAt: time.Unix(0, r.lastReport.Load()),
		AckLag: r.AckLag()}
	r.fillProgress(&s)
	return s
}
