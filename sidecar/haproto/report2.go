package haproto

import (
	"encoding/binary"
	"fmt"
)

// The report extension ("reports 2") lets a sidecar slave tell its master
// more than the classic 8-byte report can: the end it wrote and the end
// it fsynced, beside the end it acknowledges. It is negotiated in the
// hello, so a RocketMQ broker never sees it and a classic slave (or
// `--classic`) keeps 8-byte reports:
//
//   - Hello.Reports ("reports", optional) is the highest report format the
//     slave speaks; it speaks every one from 1 up to it. A slave that
//     predates it sends none (read as 1, classic).
//   - HelloReply.Reports ("reports", optional, in the final accepting
//     reply) is the format the master picked: min(its highest, the
//     slave's). 0 or 1 (a master that predates it sends none) means
//     classic 8-byte reports; 2 means Report2 below. A reply naming a
//     format above the slave's Hello.Reports is a bad hello.
//
// Once the master picked 2, every report the slave sends on that
// connection, from its first one on, is a Report2 of Report2Size bytes
// (all integers big-endian, like the classic report):
//
//	acked   int64   the end the slave acknowledges (what a classic report carries)
//	written int64   the end of the bytes written to its segment files
//	synced  int64   the end of the bytes fsynced and checkpointed
//
// A slave with --ack-after write sends acked == written; with fsync,
// acked == synced (its first report, the request, is its written end).
// Example: acked 4096, written 4096, synced 0 is
//
//	00 00 00 00 00 00 10 00   acked
//	00 00 00 00 00 00 10 00   written
//	00 00 00 00 00 00 00 00   synced
//
// Rules, checked on every report (ParseReport2, Report2Reader): all three
// are >= 0, synced <= written and acked <= written, and within one
// connection written and synced never decrease (acked may, as a classic
// report may: the master ignores a report that does not advance). A
// master also refuses a written end above what it sent on the
// connection (a lie), and counts an acknowledgement only up to what the
// connection's socket took. A report breaking a rule ends the connection.
const (
	// ReportsClassic is the classic 8-byte report.
	ReportsClassic = 1
	// Reports2 is the extended report (Report2).
	Reports2 = 2
	// Report2Size is the size of an extended report.
	Report2Size = 24
)

// Report2 is one extended report.
type Report2 struct {
	Acked, Written, Synced int64
}

// PutReport2 encodes r into b[:Report2Size].
func PutReport2(b []byte, r Report2) {
	binary.BigEndian.PutUint64(b[0:8], uint64(r.Acked))
	binary.BigEndian.PutUint64(b[8:16], uint64(r.Written))
	binary.BigEndian.PutUint64(b[16:24], uint64(r.Synced))
}

// ParseReport2 decodes b[:Report2Size] and rejects a report no honest
// slave sends: a negative end, or acked or synced above written.
func ParseReport2(b []byte) (Report2, error) {
	if len(b) < Report2Size {
		return Report2{}, fmt.Errorf("extended report of %d bytes: %w", len(b), ErrBadReport)
	}
	r := Report2{
		Acked:   int64(binary.BigEndian.Uint64(b[0:8])),
		Written: int64(binary.BigEndian.Uint64(b[8:16])),
		Synced:  int64(binary.BigEndian.Uint64(b[16:24])),
	}
	switch {
	case r.Acked < 0 || r.Written < 0 || r.Synced < 0:
		return r, fmt.Errorf("extended report acked %d written %d synced %d: negative: %w", r.Acked, r.Written, r.Synced, ErrBadReport)
	case r.Synced > r.Written:
		return r, fmt.Errorf("extended report synced %d above written %d: %w", r.Synced, r.Written, ErrBadReport)
	case r.Acked > r.Written:
		return r, fmt.Errorf("extended report acked %d above written %d: %w", r.Acked, r.Written, ErrBadReport)
	}
	return r, nil
}

// AgreeReports is the report format a slave that offered asked uses
// after the accepting reply rep: classic unless the master picked 2. A
// master picking a format the slave did not offer is ErrBadHello.
func AgreeReports(asked int, rep HelloReply) (int, error) {
	switch {
	case rep.Reports < 0 || rep.Reports > max(asked, ReportsClassic):
		return 0, fmt.Errorf("master picked report format %d, this slave offered up to %d: %w", rep.Reports, asked, ErrBadHello)
	case rep.Reports == Reports2:
		return Reports2, nil
	}
	return ReportsClassic, nil
}

// PickReports is the format a master that speaks up to Reports2 answers
// a hello offering offered: 2 when both speak it, else 0 (the field is
// left out and the reports stay classic).
func PickReports(offered int) int {
	if offered >= Reports2 {
		return Reports2
	}
	return 0
}

// Report2Reader reassembles extended reports from a byte stream that may
// split or coalesce them, checks each one and each against the one
// before (written and synced never decrease), and yields the last. It is
// not safe for concurrent use.
type Report2Reader struct {
	part [Report2Size]byte
	n    int
	prev Report2
	seen bool
}

// Feed consumes p. It returns the last complete report in the stream so
// far and ok=true if p completed at least one; a partial one is kept for
// the next call. A report breaking a rule is an ErrBadReport error, and
// the reader must not be fed again.
func (r *Report2Reader) Feed(p []byte) (last Report2, ok bool, err error) {
	for len(p) > 0 {
		var whole []byte
		if r.n == 0 && len(p) >= Report2Size {
			whole, p = p[:Report2Size], p[Report2Size:]
		} else {
			c := copy(r.part[r.n:], p)
			r.n += c
			p = p[c:]
			if r.n < Report2Size {
				break
			}
			whole, r.n = r.part[:], 0
		}
		rep, err := r.check(whole)
		if err != nil {
			return rep, false, err
		}
		last, ok = rep, true
	}
	return last, ok, nil
}

func (r *Report2Reader) check(b []byte) (Report2, error) {
	rep, err := ParseReport2(b)
	if err != nil {
		return rep, err
	}
	if r.seen && (rep.Written < r.prev.Written || rep.Synced < r.prev.Synced) {
		return rep, fmt.Errorf("extended report written %d synced %d after written %d synced %d: an end went back: %w",
			rep.Written, rep.Synced, r.prev.Written, r.prev.Synced, ErrBadReport)
	}
	r.prev, r.seen = rep, true
	return rep, nil
}
