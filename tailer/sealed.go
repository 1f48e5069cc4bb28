package tailer

import (
	"errors"
	"io"
	"os"

	"go.uber.org/zap"

	"github.com/hasidecar/hasidecar/plugins"
)

// sealedHops bounds how many sealed segments one step publishes without a
// Scan (one stat each), so a start-up walk over 100,000 segments still
// lets events, hints and ctx through between steps.
const sealedHops = 1024

// probeDepth bounds how many of the newest segments are probed for data:
// a broker keeps one or two preallocated, all-zero segments ahead of the
// one it writes.
const probeDepth = 4

// skipSealed publishes whole, from End on, the sealed segments: those below
// the newest segment the writer has started, whose bytes are therefore
// final up to SegmentSize. Each costs one stat (its size must cover the
// segment; its identity is recorded, so that a file later renamed over it
// is a divergence) and no open, mapping or Scan. It runs only while End is
// at a segment's start; a segment End is inside, or one whose file is
// short, is scanned as before. It uses at most *budget hops and reports
// whether it moved End.
func (t *Tailer) skipSealed(budget *int) bool {
	size := t.info.SegmentSize
	st := t.state
	if st.Segments == 0 || st.End%size != 0 || st.End >= st.LiveStart {
		return false
	}
	limit := t.sealedLimit()
	end := st.End
	for ; *budget > 0 && end < limit; *budget-- {
		s := t.segs[end]
		if s == nil || !t.sealedWhole(s) {
			break
		}
		end += size
	}
	if end == st.End {
		return false
	}
	if p := t.loop.pinned; p != nil && p.start < end {
		t.unpin(p) // End left it: only the segment End is in stays open
	}
	t.loop.cur = cursor{start: -1}
	st.End = end
	if st.Stalled.Active {
		t.log.Info("tail moving again after a stall", zap.String("segment", st.Stalled.Segment), zap.Int64("offset", st.Stalled.Offset))
		st.Stalled = Stall{}
	}
	if st.Diverged.Active && st.End > st.Diverged.At {
		t.converge(st)
	} else {
		t.publish(st)
	}
	return true
}

// sealedWhole stats a sealed segment's file once and reports whether it
// holds the whole segment. A file other than the one last known under the
// name is handled as replaced (sealedChanged), then published as the new
// file's bytes.
func (t *Tailer) sealedWhole(s *segment) bool {
	fi, err := t.opts.FS.Stat(s.path)
	if err != nil {
		t.statFailed(s, err)
		return false
	}
	id := idOf(fi)
	if was := t.lz.setID(s, id); id.changedFrom(was) {
		t.sealedChanged(s, "sealed segment file was replaced or shrank")
	}
	if fi.Size() < t.info.SegmentSize {
		if t.loop.limit.allow("short sealed " + s.name) {
			t.log.Warn("sealed segment is shorter than the segment size; scanning it",
				zap.String("segment", s.name), zap.Int64("size", fi.Size()))
		}
		return false
	}
	return true
}

// sealedLimit returns the start of the newest segment the writer has
// started: every segment below it is sealed. The newest probeDepth
// segments are probed (their first bytes, or their size when files grow
// by append), at most once per listing; until one is found
// started, nothing is sealed this way and the tail scans as before.
func (t *Tailer) sealedLimit() int64 {
	st := t.state
	if t.loop.sealedBelow >= st.LiveStart || !t.loop.probeDue {
		return t.loop.sealedBelow
	}
	t.loop.probeDue = false
	size := t.info.SegmentSize
	for i, start := 0, st.LiveStart; i < probeDepth && start > t.loop.sealedBelow && start > st.End; i, start = i+1, start-size {
		s := t.segs[start]
		if s != nil && t.hasData(s) {
			t.loop.sealedBelow = start
			break
		}
	}
	return t.loop.sealedBelow
}

// hasData reports whether the writer has started segment s: a file that
// grows by append is not empty; a preallocated one has a non-zero byte in
// its first peekLen bytes (an unstarted one is all zero, the rule idle
// polls rely on too). A layout whose first record may begin with peekLen
// zero bytes is only scanned more: this never seals a segment wrongly
// unless a preallocated file the writer has not started holds non-zero
// bytes.
func (t *Tailer) hasData(s *segment) bool {
	if !t.info.Preallocated {
		fi, err := t.opts.FS.Stat(s.path)
		return err == nil && fi.Size() > 0
	}
	if s.m != nil && s.m.size() >= peekLen {
		any := false
		if _, faulted := plugins.CatchFault(func() { any = !allZero(s.m.data[:peekLen]) }); !faulted {
			return any
		}
	}
	f, err := t.opts.FS.OpenFile(s.path, os.O_RDONLY, 0)
	if err != nil {
		return false
	}
	defer func() { _ = f.Close() }()
	var b [peekLen]byte
	n, err := f.ReadAt(b[:], 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return false
	}
	return !allZero(b[:n])
}
