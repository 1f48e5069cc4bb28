package tailer

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"go.uber.org/zap"
)

// list reads the directory, reconciles the mapped segments with it and
// publishes the contiguous run.
func (t *Tailer) list() {
	entries, err := t.opts.FS.ReadDir(t.dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			t.dirGone()
			return
		}
		if t.loop.limit.allow("list") {
			t.log.Warn("list segment directory", zap.String("path", t.dir), zap.Error(err))
		}
		return
	}
	t.loop.listNeeded = false
	found := t.parseEntries(entries)
	for start, s := range t.segs {
		if found[start] != s.name {
			t.dropSegment(s)
		}
	}
	for start, name := range found {
		if s := t.segs[start]; s != nil {
			t.refresh(s)
			continue
		}
		t.addSegment(start, name)
	}
	t.publishRun()
}

// parseEntries keeps the directory entries that are aligned segments of the
// layout, by start offset. Foreign files are skipped silently; misaligned or
// duplicate segments are warned about once.
func (t *Tailer) parseEntries(entries []os.DirEntry) map[int64]string {
	found := make(map[int64]string, len(entries))
	size := t.info.SegmentSize
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		start, ok := t.layout.ParseName(e.Name())
		if !ok {
			continue
		}
		if start < 0 || start%size != 0 {
			t.warnOnce(e.Name(), "segment start is not a multiple of the segment size, ignored", zap.Int64("offset", start))
			continue
		}
		if prev, dup := found[start]; dup {
			t.warnOnce(e.Name(), "two files name the same segment, ignored", zap.String("segment", prev))
			continue
		}
		found[start] = e.Name()
	}
	return found
}

func (t *Tailer) warnOnce(name, msg string, fields ...zap.Field) {
	if t.loop.warned[name] {
		return
	}
	t.loop.warned[name] = true
	t.log.Warn(msg, append(fields, zap.String("path", filepath.Join(t.dir, name)))...)
}

// dirGone drops every segment after the directory disappeared; the next
// steps poll for it to come back.
func (t *Tailer) dirGone() {
	if t.state.DirExists {
		t.log.Warn("segment directory is gone", zap.String("path", t.dir))
	}
	for _, s := range t.segs {
		t.dropSegment(s)
	}
	if t.loop.watching && t.loop.watcher != nil {
		_ = t.loop.watcher.Remove(t.dir) // usually already removed with the directory
	}
	t.loop.watching = false
	t.loop.listNeeded = true
	st := t.state
	st.DirExists, st.Segments = false, 0
	t.publish(st)
}

// addSegment maps a newly listed segment.
func (t *Tailer) addSegment(start int64, name string) {
	s := &segment{start: start, name: name, path: filepath.Join(t.dir, name)}
	if t.loop.removed[start] {
		t.log.Error("segment reappeared after it was deleted; scanning it from its start",
			zap.String("segment", name), zap.Int64("offset", start))
		delete(t.loop.removed, start)
	}
	if err := t.remap(s); err != nil {
		if t.loop.limit.allow("map " + name) {
			t.log.Warn("map segment", zap.String("segment", name), zap.Error(err))
		}
		return // retried at the next listing
	}
	t.mu.Lock()
	t.segs[start] = s
	t.mu.Unlock()
	t.log.Debug("segment added", zap.String("segment", name), zap.Int64("offset", start))
}

// dropSegment forgets a segment; its mapping lives on until the last Chunk
// of it is released.
func (t *Tailer) dropSegment(s *segment) {
	t.mu.Lock()
	delete(t.segs, s.start)
	m := s.m
	s.m = nil
	t.mu.Unlock()
	if m != nil {
		m.release()
	}
	t.loop.removed[s.start] = true
	t.pruneRemoved(s.start)
	delete(t.loop.short, s.start)
	if t.loop.cur.start == s.start {
		t.loop.cur = cursor{start: -1}
	}
	t.log.Info("segment removed", zap.String("segment", s.name), zap.Int64("offset", s.start))
}

// remap maps min(file size, SegmentSize) bytes of the segment's file and
// swaps the mapping in; the old one is released (Chunks may still hold it).
func (t *Tailer) remap(s *segment) error {
	m, fi, err := t.mapSegment(s)
	if err != nil {
		return err
	}
	t.install(s, m, fi)
	return nil
}

// mapSegment maps min(file size, SegmentSize) bytes of the segment's file.
func (t *Tailer) mapSegment(s *segment) (*mapping, os.FileInfo, error) {
	f, err := t.opts.FS.OpenFile(s.path, os.O_RDONLY, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("open segment %s: %w", s.path, err)
	}
	defer f.Close() // the mapping outlives the descriptor
	fi, err := f.Stat()
	if err != nil {
		return nil, nil, fmt.Errorf("stat segment %s: %w", s.path, err)
	}
	m, err := mapFile(t.log, f, min(fi.Size(), t.info.SegmentSize))
	if err != nil {
		return nil, nil, err
	}
	return m, fi, nil
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
	if m.size() < t.info.SegmentSize {
		t.loop.short[s.start] = true
	} else {
		delete(t.loop.short, s.start)
	}
	if old != nil {
		old.release()
	}
}

// refresh notices a segment file that grew (remap), shrank or was replaced
// (remap, log, rescan from its start). It returns false when the segment
// could not be examined.
func (t *Tailer) refresh(s *segment) bool {
	fi, err := t.opts.FS.Stat(s.path)
	if err != nil {
		t.loop.listNeeded = true // deleted or renamed: the listing decides
		if !errors.Is(err, fs.ErrNotExist) && t.loop.limit.allow("stat "+s.name) {
			t.log.Warn("stat segment; retrying", zap.String("segment", s.name), zap.Error(err))
		}
		return false
	}
	mapped := s.m.size()
	switch {
	case s.fi != nil && !os.SameFile(fi, s.fi):
		return t.replaced(s, "segment file was replaced (writer restarted?)", false)
	case fi.Size() < mapped:
		return t.replaced(s, "segment file shrank (writer truncated it?)", true)
	case mapped < min(fi.Size(), t.info.SegmentSize):
		if err := t.remap(s); err != nil {
			if t.loop.limit.allow("map " + s.name) {
				t.log.Warn("remap grown segment", zap.String("segment", s.name), zap.Error(err))
			}
			return false
		}
	}
	return true
}

// replaced remaps a segment whose file changed under the tailer. Before the
// new file is served it is compared with what was published: bytes that
// differ move End back to the first of them (a divergence), so no reader is
// ever handed new bytes above old ones it may already have sent.
func (t *Tailer) replaced(s *segment, why string, sameFile bool) bool {
	published := min(max(t.state.End-s.start, 0), t.info.SegmentSize)
	t.forgetHints(s.start)
	t.log.Warn(why, zap.String("segment", s.name), zap.Int64("offset", s.start),
		zap.Int64("published_bytes", published))
	m, fi, err := t.mapSegment(s)
	if err != nil {
		if t.loop.limit.allow("map " + s.name) {
			t.log.Warn("remap changed segment", zap.String("segment", s.name), zap.Error(err))
		}
		return false
	}
	if at := t.firstChanged(s, m, published, sameFile); at < published {
		t.diverge(s.start+at, why+"; its bytes differ from those published")
	}
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

// publishRun recomputes Oldest, LiveStart and Segments from the mapped
// segments and re-anchors End on the run.
func (t *Tailer) publishRun() {
	st := t.state
	st.DirExists = true
	newest := int64(-1)
	for start := range t.segs {
		newest = max(newest, start)
	}
	if newest < 0 {
		st.Segments = 0
		t.publish(st)
		return
	}
	size := t.info.SegmentSize
	oldest, n := newest, 1
	for t.segs[oldest-size] != nil {
		oldest -= size
		n++
	}
	st.Oldest, st.LiveStart, st.Segments = oldest, newest, n
	st.End = t.anchor(st)
	st.Diverged = t.state.Diverged // anchor may have found a divergence
	t.publish(st)
}

// anchor places End inside the run [Oldest, LiveStart+SegmentSize].
func (t *Tailer) anchor(st State) int64 {
	size := t.info.SegmentSize
	switch {
	case !t.loop.anchored:
		t.loop.anchored = true
		return st.Oldest
	case st.End < st.Oldest:
		t.log.Warn("segments deleted before the tailer reached their end; skipping to the oldest",
			zap.Int64("end", st.End), zap.Int64("offset", st.Oldest))
		return st.Oldest
	case st.End > st.LiveStart+size:
		t.diverge(st.Oldest, "the directory now ends below the published end (replaced or wiped?)")
		return st.Oldest
	}
	return st.End
}

// maxRemembered bounds how many deleted segments the tailer remembers (to
// spot one that reappears); retention deletes one per roll for ever.
const maxRemembered = 64

// pruneRemoved forgets deleted segments far below the newest deletion.
func (t *Tailer) pruneRemoved(newest int64) {
	floor := newest - maxRemembered*t.info.SegmentSize
	for start := range t.loop.removed {
		if start < floor {
			delete(t.loop.removed, start)
		}
	}
}
