package ack

import (
	"sync/atomic"
	"time"
)

// slaveProgress is what a slave speaking the report extension
// (haproto.Reports2) says of itself: the ends it wrote and fsynced, and
// the lags timed on them. A classic slave says neither: its fields stay
// unknown (-1) rather than being guessed from its single report.
type slaveProgress struct {
	reports  atomic.Int32 // the connection's report format; 0 until the stream starts
	start    atomic.Int64 // where streaming started: an end at or below it covers no write
	written  atomic.Int64 // -1: unknown
	synced   atomic.Int64 // -1: unknown
	writeLag atomic.Int64 // nanoseconds; -1: unknown
	flushLag atomic.Int64 // nanoseconds; -1: unknown
}

// reset forgets everything reported, for a stream starting at start.
func (p *slaveProgress) reset(start int64) {
	p.start.Store(start)
	for _, v := range []*atomic.Int64{&p.written, &p.synced, &p.writeLag, &p.flushLag} {
		v.Store(-1)
	}
}

// SetReports records the connection's report format (haproto.ReportsClassic
// or haproto.Reports2), for status.
func (r *Replica) SetReports(format int) { r.prog.reports.Store(int32(format)) }

// Progress records an extended report's written and synced ends. The
// caller checked them (haproto.Report2Reader: synced <= written, neither
// goes back; and written <= Sent). Each end that advances past the
// stream's start times its lag from the write that carried its last byte:
// PostgreSQL's write_lag and flush_lag, measured on each report.
func (r *Replica) Progress(written, synced int64) {
	now := time.Now().UnixNano()
	r.wmu.Lock()
	defer r.wmu.Unlock()
	r.advance(&r.prog.written, &r.prog.writeLag, written, now)
	r.advance(&r.prog.synced, &r.prog.flushLag, synced, now)
}

// advance moves end to off and times lag when off is beyond it. Caller
// holds wmu.
func (r *Replica) advance(end, lag *atomic.Int64, off, now int64) {
	if off <= end.Load() {
		return
	}
	end.Store(off)
	if off <= r.prog.start.Load() {
		return // bytes the slave held before this connection: no write of ours to time
	}
	if at, ok := r.writeAt(off); ok {
		lag.Store(now - at)
	}
}

// writeAt is when the write that carried byte off-1 returned: the first
// remembered write ending at or past off. Caller holds wmu.
func (r *Replica) writeAt(off int64) (int64, bool) {
	for _, w := range r.writes {
		if w.end >= off {
			return w.at, true
		}
	}
	return 0, false // past every write remembered
}

// lagFloor is the lowest end whose lag may still be timed: writes ending
// at or below it can go. For an extended slave the synced end trails the
// acknowledged one (--ack-after write), so its writes are kept until the
// slave fsynced them. Caller holds wmu.
func (r *Replica) lagFloor(acked int64) int64 {
	if r.prog.reports.Load() < 2 {
		return acked
	}
	return min(acked, r.prog.synced.Load(), r.prog.written.Load())
}

// fillProgress copies the progress into a status.
func (r *Replica) fillProgress(s *ReplicaStatus) {
	s.Reports = int(r.prog.reports.Load())
	s.SlaveWritten, s.SlaveSynced = r.prog.written.Load(), r.prog.synced.Load()
	s.WriteLag, s.FlushLag = time.Duration(r.prog.writeLag.Load()), time.Duration(r.prog.flushLag.Load())
}
