package tailer

import (
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"time"

	"go.uber.org/zap"

	"github.com/hasidecar/hasidecar/plugins"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// tail scans the segment that holds End and moves on through sealed
// segments. It reports activity and how soon a settling record wants a look.
func (t *Tailer) tail(now time.Time) (active bool, due time.Duration) {
	for range maxHops {
		st := t.state
		if st.Segments == 0 {
			return active, 0
		}
		start := plugins.SegmentStart(t.info, st.End)
		s := t.segs[start]
		if s == nil {
			return active, 0 // sealed; waiting for the writer to roll
		}
		if t.loop.cur.start != start {
			t.loop.cur = cursor{start: start, stable: start}
		}
		adv, full, d := t.scanSegment(s, now)
		active, due = active || adv, d
		if !full {
			return active, due
		}
	}
	return true, 0 // more sealed segments to walk: come back at once
}

// scanSegment asks the layout where the segment's valid data ends and
// publishes what is final. full is true once the whole segment is published.
func (t *Tailer) scanSegment(s *segment, now time.Time) (active, full bool, due time.Duration) {
	if !t.refresh(s) || t.segs[s.start] != s {
		return false, false, 0
	}
	cur := &t.loop.cur
	sc, err := t.layout.Scan(s.path, s.start, cur.stable)
	if err == nil {
		err = t.checkScan(s, sc)
	}
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			t.loop.listNeeded = true
		}
		if t.loop.limit.allow("scan " + s.name) {
			t.log.Warn("scan segment; retrying", zap.String("segment", s.name), zap.Int64("offset", cur.stable), zap.Error(err))
		}
		return false, false, 0
	}
	end, changed, due := t.decideEnd(s, sc, now)
	if sc.Stable > cur.stable {
		cur.stable = sc.Stable
	}
	if end-s.start > s.m.size() && (!t.refresh(s) || end-s.start > s.m.size()) {
		return true, false, 0 // the file grew past our mapping; map it next poll
	}
	st := t.state
	if sc.End < st.End && st.End <= s.start+t.info.SegmentSize && t.loop.limit.allow("shrunk "+s.name) {
		t.log.Error("DIVERGENCE: valid data now ends below the published safe end; keeping the end",
			zap.String("segment", s.name), zap.Int64("offset", sc.End), zap.Int64("end", st.End))
	}
	if end > st.End {
		st.End = end
		t.publish(st)
		changed = true
	}
	return changed, st.End == s.start+t.info.SegmentSize, due
}

// checkScan rejects a Scan result outside the contract, so a buggy layout
// can never make the tailer publish bytes past its segment.
func (t *Tailer) checkScan(s *segment, sc plugins.Scan) error {
	hi := s.start + t.info.SegmentSize
	if sc.Stable < s.start || sc.Stable > sc.End || sc.End > hi || (sc.Full && sc.Stable != hi) {
		return fmt.Errorf("scan segment %s: result stable %d end %d full %t outside [%d, %d]: %w",
			s.name, sc.Stable, sc.End, sc.Full, s.start, hi, plugins.ErrCorrupt)
	}
	return nil
}

// decideEnd applies the publishing rules to one Scan: bytes below Stable
// are final; the last record [Stable, End) is final once a hint covers it or
// its bytes stayed identical for Settle.
func (t *Tailer) decideEnd(s *segment, sc plugins.Scan, now time.Time) (end int64, changed bool, due time.Duration) {
	cur := &t.loop.cur
	if sc.Full {
		cur.pend = pending{}
		return sc.End, false, 0
	}
	end = sc.Stable
	if h := t.hint.Load(); h > end {
		end = min(h, sc.End)
	}
	if end == sc.End || sc.End-s.start > s.m.size() {
		cur.pend = pending{}
		return end, false, 0
	}
	sum := crc32.Checksum(s.m.data[sc.Stable-s.start:sc.End-s.start], castagnoli)
	p := cur.pend
	if p.lo == sc.Stable && p.hi == sc.End && p.sum == sum {
		if waited := now.Sub(p.since); waited < t.opts.Settle {
			return end, false, t.opts.Settle - waited
		}
		return sc.End, false, 0
	}
	if p.lo == sc.Stable && p.hi != 0 && p.hi <= t.state.End && t.loop.limit.allow("rewritten "+s.name) {
		t.log.Error("DIVERGENCE: a published record changed after it settled; raise Settle or send hints",
			zap.String("segment", s.name), zap.Int64("offset", p.lo), zap.Int64("end", t.state.End))
	}
	cur.pend = pending{lo: sc.Stable, hi: sc.End, sum: sum, since: now}
	return end, true, t.opts.Settle
}
