package tailer

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"go.uber.org/zap"

	"github.com/hasidecar/hasidecar/plugins/fsio"
)

// segment is one segment file of the directory. Only the pinned segment
// (the one End is in) holds a mapping and an open descriptor; a sealed
// segment is a name and the identity of its file, mapped only while a
// Read needs it (see lazy.go).
type segment struct {
	start int64
	name  string
	path  string
	m     *mapping    // the pinned segment's mapping, nil otherwise; the tailer holds one reference. Guarded by mu.
	f     fsio.File   // the pinned segment's descriptor, loop-only
	fi    os.FileInfo // what f is, loop-only
	size  int64       // f's size at its last fstat, loop-only
	id    fileID      // the file last known under path; guarded by lazyCache.mu
	// pathDue asks the next refresh to stat the path (loop-only): the rescan
	// tick or an event saw a file created or renamed under this name.
	pathDue bool
}

// fileID identifies a segment's file without keeping it open: a file
// renamed over the name, or truncated, no longer matches.
type fileID struct {
	dev, ino uint64
	size     int64
}

func idOf(fi os.FileInfo) fileID {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fileID{}
	}
	return fileID{dev: uint64(st.Dev), ino: st.Ino, size: fi.Size()}
}

func (a fileID) known() bool { return a.dev != 0 || a.ino != 0 }

// changedFrom reports whether a, seen now, is another file than was, or
// the same file shrunk.
func (a fileID) changedFrom(was fileID) bool {
	return was.known() && a.known() && (a.dev != was.dev || a.ino != was.ino || a.size < was.size)
}

// addSegment records a newly listed segment. Nothing is opened until End
// reaches it (pin) or a Read asks for it.
func (t *Tailer) addSegment(start int64, name string) {
	s := &segment{start: start, name: name, path: filepath.Join(t.dir, name)}
	if t.loop.removed[start] {
		t.log.Error("segment reappeared after it was deleted; scanning it from its start",
			zap.String("segment", name), zap.Int64("offset", start))
		delete(t.loop.removed, start)
	}
	t.mu.Lock()
	t.segs[start] = s
	t.mu.Unlock()
	t.log.Debug("segment added", zap.String("segment", name), zap.Int64("offset", start))
}

// dropSegment forgets a segment; its mappings live on until the last Chunk
// of them is released.
func (t *Tailer) dropSegment(s *segment) {
	t.mu.Lock()
	delete(t.segs, s.start)
	m := s.m
	s.m = nil
	t.mu.Unlock()
	if m != nil {
		m.release()
	}
	t.closeFile(s)
	if t.loop.pinned == s {
		t.loop.pinned = nil
	}
	t.lz.forget(s.start)
	t.loop.removed[s.start] = true
	t.pruneRemoved(s.start)
	if t.loop.cur.start == s.start {
		t.loop.cur = cursor{start: -1}
	}
	t.log.Info("segment removed", zap.String("segment", s.name), zap.Int64("offset", s.start))
}

// openMap opens the segment's file and maps min(file size, SegmentSize)
// bytes of it. The caller owns the descriptor.
func (t *Tailer) openMap(s *segment) (fsio.File, os.FileInfo, *mapping, error) {
	f, err := t.opts.FS.OpenFile(s.path, os.O_RDONLY, 0)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("open segment %s: %w", s.path, err)
	}
	fi, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, nil, nil, fmt.Errorf("stat segment %s: %w", s.path, err)
	}
	m, err := mapFile(t.log, f, min(fi.Size(), t.info.SegmentSize))
	if err != nil {
		_ = f.Close()
		return nil, nil, nil, err
	}
	return f, fi, m, nil
}

// pin opens and maps s, the segment End is in, and keeps its descriptor
// open until End leaves it; the segment pinned before is unpinned. A file
// that is not the one last known under the name (replaced while sealed)
// is a divergence from its start. It reports whether s is pinned.
func (t *Tailer) pin(s *segment) bool {
	if p := t.loop.pinned; p != nil && p != s {
		t.unpin(p)
	}
	f, fi, m, err := t.openMap(s)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			t.loop.listNeeded = true
		} else if t.loop.limit.allow("map " + s.name) {
			t.log.Warn("map segment", zap.String("segment", s.name), zap.Error(err))
		}
		return false
	}
	t.loop.pinned = s
	s.f, s.fi, s.size, s.pathDue = f, fi, fi.Size(), false
	was := t.lz.setID(s, idOf(fi))
	t.install(s, m, fi)
	if idOf(fi).changedFrom(was) {
		t.sealedChanged(s, "segment file was replaced or shrank while sealed")
	}
	return true
}

// unpin closes the descriptor of a segment End has left and hands its
// mapping to the lazy cache, where it lingers briefly for senders just
// behind the tail.
func (t *Tailer) unpin(s *segment) {
	t.mu.Lock()
	m := s.m
	s.m = nil
	t.mu.Unlock()
	t.closeFile(s)
	if t.loop.pinned == s {
		t.loop.pinned = nil
	}
	if m != nil {
		t.lz.adopt(s.start, m)
	}
}

func (t *Tailer) closeFile(s *segment) {
	if s.f == nil {
		return
	}
	if err := s.f.Close(); err != nil {
		t.log.Warn("close segment", zap.String("segment", s.name), zap.Error(err))
	}
	s.f, s.fi = nil, nil
}

// install swaps m in as the segment's mapping and releases the old one.
func (t *Tailer) install(s *segment, m *mapping, fi os.FileInfo) {
	t.mu.Lock()
	old := s.m
	s.m, s.fi = m, fi
	if old != nil && !t.closed {
		// More bytes may be readable below End without State changing: wake
		// readers that got an empty chunk there.
		close(t.changed)
		t.changed = make(chan struct{})
	}
	t.mu.Unlock()
	if old != nil {
		old.release()
	}
}

// fstatEvery is how often the descriptor of a preallocated live segment is
// fstat'ed when nothing else gives a reason: its mapping covers the whole
// segment, so only a truncation (a divergence) could change its size.
const fstatEvery = time.Second

// refresh prepares the pinned segment s for a scan: it pins s if needed,
// stats the path when due (a file renamed over the name), and fstats the
// open descriptor only when the mapping cannot tell: a file that grows by
// append or is mapped short, force, or once every fstatEvery. A file that
// grew is remapped; one that shrank or was replaced is compared with what
// was published (replaced). It returns false when s could not be examined.
func (t *Tailer) refresh(s *segment, force bool) bool {
	if t.loop.pinned != s || s.f == nil {
		if !t.pin(s) || t.segs[s.start] != s {
			return false
		}
	}
	if s.pathDue {
		s.pathDue = false
		fi, err := t.opts.FS.Stat(s.path)
		if err != nil {
			t.statFailed(s, err)
			return false
		}
		if !os.SameFile(fi, s.fi) {
			return t.replaced(s, "segment file was replaced (writer restarted?)", false)
		}
	}
	mapped := s.m.size()
	now := time.Now()
	if !force && t.info.Preallocated && mapped == t.info.SegmentSize && now.Sub(t.loop.lastFstat) < fstatEvery {
		return true
	}
	t.loop.lastFstat = now
	fi, err := s.f.Stat()
	if err != nil {
		t.statFailed(s, err)
		return false
	}
	s.size = fi.Size()
	switch {
	case fi.Size() < mapped:
		return t.replaced(s, "segment file shrank (writer truncated it?)", true)
	case mapped < min(fi.Size(), t.info.SegmentSize):
		return t.grow(s, fi.Size())
	}
	return true
}

func (t *Tailer) statFailed(s *segment, err error) {
	t.loop.listNeeded = true // deleted or renamed: the listing decides
	if !errors.Is(err, fs.ErrNotExist) && t.loop.limit.allow("stat "+s.name) {
		t.log.Warn("stat segment; retrying", zap.String("segment", s.name), zap.Error(err))
	}
}

// grow remaps the pinned segment through its open descriptor after its
// file grew.
func (t *Tailer) grow(s *segment, size int64) bool {
	m, err := mapFile(t.log, s.f, min(size, t.info.SegmentSize))
	if err != nil {
		if t.loop.limit.allow("map " + s.name) {
			t.log.Warn("remap grown segment", zap.String("segment", s.name), zap.Error(err))
		}
		return false
	}
	t.install(s, m, s.fi)
	return true
}

// replaced remaps the pinned segment whose file changed under the tailer.
// Before the new file is served it is compared with what was published:
// bytes that differ move End back to the first of them (a divergence), so
// no reader is ever handed new bytes above old ones it may already have
// sent.
func (t *Tailer) replaced(s *segment, why string, sameFile bool) bool {
	published := min(max(t.state.End-s.start, 0), t.info.SegmentSize)
	t.forgetHints(s.start)
	t.log.Warn(why, zap.String("segment", s.name), zap.Int64("offset", s.start),
		zap.Int64("published_bytes", published))
	f, fi, m, err := t.openMap(s)
	if err != nil {
		if t.loop.limit.allow("map " + s.name) {
			t.log.Warn("remap changed segment", zap.String("segment", s.name), zap.Error(err))
		}
		s.pathDue, t.loop.lastFstat = true, time.Time{} // look again at the next poll
		return false
	}
	if at := t.firstChanged(s, m, published, sameFile); at < published {
		t.diverge(s.start+at, why+"; its bytes differ from those published")
	}
	old := s.f
	s.f, s.size = f, fi.Size()
	if old != nil {
		_ = old.Close()
	}
	t.lz.setID(s, idOf(fi))
	t.install(s, m, fi)
	if t.loop.cur.start == s.start {
		t.loop.cur = cursor{start: s.start, stable: s.start}
	}
	return true
}

// firstChanged returns the first byte (relative to the segment) of the
// published range [0, published) that differs in the new mapping m, or
// published when none does. A file replaced by another is compared byte by
// byte with the old mapping; a file shrunk in place shares its pages with
// the old mapping (which would fault past the new size), so it is compared
// with the digest of what was published, or, untracked, is suspect whole.
func (t *Tailer) firstChanged(s *segment, m *mapping, published int64, sameFile bool) int64 {
	if published == 0 {
		return 0
	}
	n := min(published, m.size())
	if sameFile || s.m == nil {
		if t.loop.dig.start != s.start {
			return 0
		}
		return min(t.loop.dig.firstDiff(m.data), n)
	}
	old := s.m.data[:min(published, s.m.size())]
	i := int64(0)
	for i < n && i < int64(len(old)) {
		lo, hi := i, min(i+digestBlock, n, int64(len(old)))
		if !bytes.Equal(old[lo:hi], m.data[lo:hi]) {
			for old[i] == m.data[i] {
				i++
			}
			return i
		}
		i = hi
	}
	return min(n, int64(len(old)))
}

// checkIdentity stats the path of a segment an event (or a listing
// without events) says may have changed. The pinned segment is checked at
// its next refresh; a sealed one now, against the file last known there.
func (t *Tailer) checkIdentity(s *segment) {
	if t.loop.pinned == s {
		s.pathDue = true
		return
	}
	was := t.lz.getID(s)
	if !was.known() {
		return // never opened: nothing published from it was seen to compare
	}
	fi, err := t.opts.FS.Stat(s.path)
	if err != nil {
		t.statFailed(s, err)
		return
	}
	if now := idOf(fi); now.changedFrom(was) {
		t.lz.setID(s, now)
		t.sealedChanged(s, "sealed segment file was replaced or shrank")
	}
}

// sealedChanged handles a sealed segment whose file is no longer the one
// published from: its old bytes are not mapped any more to compare, so
// every published byte of it counts as changed (a divergence at its start).
func (t *Tailer) sealedChanged(s *segment, why string) {
	t.lz.forget(s.start)
	published := min(max(t.state.End-s.start, 0), t.info.SegmentSize)
	t.log.Warn(why, zap.String("segment", s.name), zap.Int64("offset", s.start),
		zap.Int64("published_bytes", published))
	if published > 0 {
		t.diverge(s.start, why+"; its old bytes are no longer mapped to compare, so all of them count as changed")
	}
}
