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

// tail publishes whole the sealed segments from End on without scanning them
// (skipSealed), scans the segment that holds End and moves on through the
// segments it finds full. It reports activity and how soon a settling record wants a look.
func (t *Tailer) tail(now time.Time) (active bool, due time.Duration) {
	budget := sealedHops
	for range maxHops {
		if t.skipSealed(&budget) {
			active = true
		}
		if budget == 0 {
			return true, 0 // more sealed segments to walk: come back at once
		}
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
	if !t.refresh(s, false) || t.segs[s.start] != s {
		return false, false, 0
	}
	cur := &t.loop.cur
	sc, err := t.scanOrReuse(s)
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
	if end-s.start > s.m.size() && (!t.refresh(s, true) || end-s.start > s.m.size()) {
		return true, false, 0 // the file grew past our mapping; map it next poll
	}
	if sc.End < t.state.End && sc.End >= s.start {
		// Valid data now ends below End: before the published bytes are
		// compared through the mapping, make sure the file still has them.
		m := s.m
		if !t.refresh(s, true) || s.m != m {
			return true, false, 0
		}
	}
	if t.rewritten(s, sc, changed, now) {
		return true, false, 0
	}
	st := t.state
	moved := end > st.End
	if moved {
		t.trackDigest(s, end) // before publishing: no reader has these bytes yet
		st.End = end
		changed = true
	}
	switch {
	case st.Diverged.Active && (st.End > st.Diverged.At || (sc.End == st.End && sc.Stable == sc.End)):
		t.converge(st) // the new End and the divergence's end in one published state
	case moved:
		t.publish(st)
	}
	return changed, t.state.End == s.start+t.info.SegmentSize, due
}

// rewritten looks for published bytes of s that changed on disk, when a scan
// gives a reason to suspect it: valid data now ends below End, a settled
// record changed, or bytes after End have not validated for stuckAfter. It
// reports whether it moved End back (a divergence).
func (t *Tailer) rewritten(s *segment, sc plugins.Scan, changed bool, now time.Time) bool {
	st := t.state
	inSeg := st.End > s.start && st.End <= s.start+t.info.SegmentSize
	switch {
	case !inSeg:
		return false
	case sc.End < st.End && st.Diverged.Active:
		// Already diverged: the writer's valid data ends lower still.
		t.diverge(sc.End, "the writer's valid data now ends below the divergence point")
		return true
	case sc.End < st.End || t.loop.suspect || t.lastBlockChanged(s) || t.scrubFound(s):
		t.loop.suspect = false
		if t.loop.checks.allow("rewrite "+s.name) && t.checkRewrite(s, "published bytes were rewritten in place") {
			return true
		}
		if sc.End < st.End && t.loop.limit.allow("shrunk "+s.name) {
			t.log.Error("valid data now ends below the published end, though the published bytes are unchanged",
				zap.String("segment", s.name), zap.Int64("offset", sc.End), zap.Int64("end", st.End))
		}
		return false
	}
	return t.stuck(s, sc, changed, now)
}

// lastBlockChanged re-hashes, at most once a second, the last published
// block of s: a writer that restarted below End and wrote through it with
// records that happen to align with End is found there.
func (t *Tailer) lastBlockChanged(s *segment) bool {
	d := &t.loop.dig
	return d.start == s.start && s.m != nil && t.loop.checks.allow("last block "+s.name) && d.lastChanged(s.m.data)
}

// scrubBlocks is how many published blocks of the live segment are
// re-hashed each second, round robin (4 MiB/s): a byte changed in place far
// below End is found within SegmentSize/4 MiB seconds (about 4 minutes for
// 1 GiB segments) at a cost of well under 0.1% of a core.
const scrubBlocks = 64

// scrubFound re-hashes the next scrubBlocks published blocks of s, at most
// once a second, and reports whether one of them changed.
func (t *Tailer) scrubFound(s *segment) bool {
	d := &t.loop.dig
	if d.start != s.start || s.m == nil || len(d.sums) == 0 || !t.loop.checks.allow("scrub "+s.name) {
		return false
	}
	for range min(scrubBlocks, len(d.sums)) {
		b := t.loop.scrubNext % len(d.sums)
		t.loop.scrubNext++
		lo := int64(b) * digestBlock
		if lo+digestBlock > int64(len(s.m.data)) || crc32.Checksum(s.m.data[lo:lo+digestBlock], castagnoli) != d.sums[b] {
			return true
		}
	}
	return false
}

// stuckAfter is how long bytes after End may fail to validate before the
// published bytes are checked for a rewrite and the tail reported stalled.
const stuckAfter = time.Second

// stuck notices a tail that cannot advance though bytes follow End (a
// writer that restarted below End and rewrites from there, or a record the
// layout cannot validate): it checks for a rewrite, else reports the stall.
func (t *Tailer) stuck(s *segment, sc plugins.Scan, changed bool, now time.Time) bool {
	st := t.state
	rel := st.End - s.start
	if changed || sc.End != st.End || rel >= s.m.size() || allZero(s.m.data[rel:min(rel+8, s.m.size())]) {
		t.loop.stuckSince = time.Time{}
		t.unstall()
		return false
	}
	if t.loop.stuckSince.IsZero() {
		t.loop.stuckSince = now
		return false
	}
	if now.Sub(t.loop.stuckSince) < stuckAfter || !t.loop.checks.allow("stuck "+s.name) {
		return false
	}
	if t.checkRewrite(s, "bytes after the published end do not validate and published bytes changed") {
		return true
	}
	t.stall(s, sc, now)
	return false
}

// stall publishes that the tail cannot advance, with one rate-limited
// ERROR line naming the segment, the offset and the layout's reason.
func (t *Tailer) stall(s *segment, sc plugins.Scan, now time.Time) {
	why := sc.Reason
	if why == "" {
		why = "bytes after the end do not validate as a record"
	}
	if t.loop.limit.allow("stalled " + s.name) {
		t.log.Error("tail stalled: the data after the published end is not valid for this layout; nothing past it is served",
			zap.String("segment", s.name), zap.Int64("offset", t.state.End), zap.String("reason", why),
			zap.Duration("for", now.Sub(t.loop.stuckSince)))
	}
	st := t.state
	if st.Stalled.Active && st.Stalled.Offset == st.End && st.Stalled.Reason == why {
		return
	}
	st.Stalled = Stall{Active: true, Offset: st.End, Segment: s.name, Reason: why, Since: t.loop.stuckSince}
	t.publish(st)
}

// unstall clears a published stall once the tail moves again.
func (t *Tailer) unstall() {
	st := t.state
	if !st.Stalled.Active {
		return
	}
	t.log.Info("tail moving again after a stall", zap.String("segment", st.Stalled.Segment), zap.Int64("offset", st.Stalled.Offset))
	st.Stalled = Stall{}
	t.publish(st)
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
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
	if p.lo == sc.Stable && p.hi != 0 && p.hi <= t.state.End {
		t.loop.suspect = true // a published record changed: rewritten checks the digest
		if t.loop.limit.allow("rewritten " + s.name) {
			t.log.Error("a published record changed after it settled; raise Settle or send hints",
				zap.String("segment", s.name), zap.Int64("offset", p.lo), zap.Int64("end", t.state.End))
		}
	}
	cur.pend = pending{lo: sc.Stable, hi: sc.End, sum: sum, since: now}
	return end, true, t.opts.Settle
}
