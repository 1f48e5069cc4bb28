package sidecar

import (
	"fmt"

	"github.com/hasidecar/hasidecar/sidecar/haproto"
)

// reportsOffered is the highest report format this slave speaks
// (haproto/report2.go): it offers it in every hello.
const reportsOffered = haproto.Reports2

// agreeReports takes the report format the master's accepting reply
// picked for this session; a master picking one this slave did not offer
// is refused, as any bad hello reply is.
func (s *Slave) agreeReports(rep haproto.HelloReply) error {
	f, err := haproto.AgreeReports(reportsOffered, rep)
	if err != nil {
		return fmt.Errorf("%w: %w", err, ErrRefused)
	}
	s.reports.Store(int32(f))
	return nil
}

// reporter encodes one session's reports in its agreed format and
// remembers the last one sent, so that an extended report goes out when
// the written or synced end moved even if the acknowledged one did not
// (--ack-after fsync).
type reporter struct {
	ext  bool
	last haproto.Report2
	buf  [haproto.Report2Size]byte
}

func (s *Slave) newReporter() *reporter {
	return &reporter{ext: s.reports.Load() == haproto.Reports2, last: haproto.Report2{Written: -1, Synced: -1}}
}

// next returns the report of acked to send, or nil when none is due: due
// says acked moved or a heartbeat is owed. An extended report carries the
// written and synced ends read now; if they fell back (a failed sync drops
// the bytes above the synced end, applier.Sync) the session ends, because
// the report would break the rule that they never decrease (and the
// master must resend those bytes anyway).
func (rp *reporter) next(s *Slave, acked int64, due bool) ([]byte, error) {
	if !rp.ext {
		if !due {
			return nil, nil
		}
		haproto.PutReport(rp.buf[:], acked)
		return rp.buf[:haproto.ReportSize], nil
	}
	s.mu.Lock()
	r := haproto.Report2{Acked: acked, Written: s.app.End(), Synced: s.app.Synced()}
	s.mu.Unlock()
	if r.Written < rp.last.Written || r.Synced < rp.last.Synced || acked > r.Written {
		return nil, fmt.Errorf("written end %d (synced %d) fell back below the reported %d (synced %d, acknowledged %d): ending the session",
			r.Written, r.Synced, rp.last.Written, rp.last.Synced, acked)
	}
	if !due && r.Written == rp.last.Written && r.Synced == rp.last.Synced {
		return nil, nil
	}
	rp.last = r
	haproto.PutReport2(rp.buf[:], r)
	return rp.buf[:], nil
}
