package tailer

import (
	"time"

	"go.uber.org/zap"

	"github.com/hasidecar/hasidecar/plugins"
)

// Divergence describes bytes the tailer had published that changed on disk
// afterwards: the directory's data from At on is no longer what was served
// (up to OldEnd). While Active, End was moved back to At and nothing above
// it is served until the writer's new bytes there are final again.
type Divergence struct {
	Active bool
	At     int64 // first offset whose bytes may differ from what was published
	OldEnd int64 // the published end when the change was found
	Reason string
	Since  time.Time
	Count  int // divergences found since the tailer started
}

// OnDiverge registers fn, called from the tailer's loop when a divergence is
// found (Active) and when it ends (not Active). It runs with the tailer's
// lock held, before the lowered End is visible to any reader, so fn may
// stop senders and waiters first; fn must not call the Tailer. One hook;
// a later call replaces it.
func (t *Tailer) OnDiverge(fn func(Divergence)) {
	t.mu.Lock()
	t.divHook = fn
	t.mu.Unlock()
}

// diverge moves End back to at after bytes published above it changed, and
// restarts the scan of at's segment. Nothing happens when at >= End.
func (t *Tailer) diverge(at int64, reason string) {
	st := t.state
	if at >= st.End {
		return
	}
	d := Divergence{Active: true, At: at, OldEnd: st.End, Reason: reason, Since: time.Now(), Count: st.Diverged.Count}
	if !st.Diverged.Active {
		d.Count++
	}
	t.log.Error("DIVERGENCE: published bytes changed on disk; serving stops at the last unchanged offset",
		zap.Int64("offset", at), zap.Int64("end", st.End), zap.Int64("bytes", st.End-at), zap.String("reason", reason))
	t.forgetHints(at)
	st.End, st.Diverged = at, d
	t.mu.Lock()
	if t.divHook != nil {
		t.divHook(d)
	}
	t.publishLocked(st)
	t.mu.Unlock()
	start := plugins.SegmentStart(t.info, at)
	t.loop.cur = cursor{start: start, stable: start}
	if s := t.segs[start]; s != nil && s.m != nil && t.loop.dig.start == start {
		t.loop.dig.truncate(s.m.data, at-start)
	} else {
		t.loop.dig.reset(-1)
	}
}

// converge ends an active divergence and publishes st with it: the
// writer's bytes at and after At are final again (End moved past At, or the
// writer's valid data ends at End).
func (t *Tailer) converge(st State) {
	st.Diverged.Active = false
	t.log.Warn("divergence resolved: the writer's new bytes are final; serving again",
		zap.Int64("offset", st.Diverged.At), zap.Int64("end", st.End))
	t.mu.Lock()
	if t.divHook != nil {
		t.divHook(st.Diverged)
	}
	t.publishLocked(st)
	t.mu.Unlock()
}

// checkRewrite compares the live segment's bytes with the digest of what
// was published and diverges at the first block that changed. It reports
// whether it found a change.
func (t *Tailer) checkRewrite(s *segment, why string) bool {
	d := &t.loop.dig
	if d.start != s.start || s.m == nil {
		return false
	}
	at := d.firstDiff(s.m.data)
	if at >= d.n {
		return false
	}
	t.diverge(s.start+at, why)
	return true
}

// trackDigest hashes the bytes of s about to be published below end. Only
// the newest segment is tracked: a sealed one the tailer walks through (at
// start-up, a whole directory) would be hashed for nothing.
func (t *Tailer) trackDigest(s *segment, end int64) {
	if s.start != t.state.LiveStart {
		return
	}
	d := &t.loop.dig
	if d.start != s.start {
		d.reset(s.start)
		if t.state.End > s.start { // published before the digest followed s
			d.extend(s.m.data, min(t.state.End, s.start+t.info.SegmentSize)-s.start)
		}
	}
	d.extend(s.m.data, min(end, s.start+t.info.SegmentSize)-s.start)
}
