package tailer

import (
	"errors"
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
	t.loop.probeDue = true // the newest segments may be probed for the writer's start again
	found := t.parseEntries(entries)
	for start, s := range t.segs {
		if found[start] != s.name {
			t.dropSegment(s)
		}
	}
	for start, name := range found {
		if t.segs[start] == nil {
			t.addSegment(start, name)
		}
	}
	if t.loop.statAll || t.loop.watcher == nil || !t.loop.watching {
		// No event stream to say which file changed (fsnotify unavailable
		// or its queue overflowed): check every known segment's file.
		t.loop.statAll = false
		for _, s := range t.segs {
			t.checkIdentity(s)
		}
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
	if t.segs[t.loop.sealedBelow] == nil {
		t.loop.sealedBelow = -1 // its file is gone: what is sealed is probed again
	}
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
