package applier

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"go.uber.org/zap"

	"github.com/hasidecar/hasidecar/plugins"
	"github.com/hasidecar/hasidecar/plugins/fsio"
)

// segEntry is a segment file found in the directory.
type segEntry struct {
	start int64
	path  string
}

// recover establishes the durable state at Open and leaves the checkpoint
// and the journal open for writing. It never parses record contents when a
// checkpoint exists: the checkpoint, extended by what the journal proves,
// says where the data ends.
func (a *Applier) recover() (state, error) {
	st, found, err := readCheckpoint(a.fs, a.stateDir)
	if err != nil {
		return state{}, err
	}
	if found && st.Info != a.info {
		return state{}, fmt.Errorf("checkpoint in %s records layout %s, given %s: %w",
			a.stateDir, st.Info, a.info, ErrLayoutMismatch)
	}
	segs, err := a.listSegments()
	if err != nil {
		return state{}, err
	}
	if a.jnl, err = openJournal(a.fs, a.stateDir); err != nil {
		return state{}, err
	}
	if found {
		// Bytes written after the checkpoint that the journal proves
		// (acknowledged under --ack-after write) are kept.
		if done, proven, err := a.recoverJournal(st, segs); done || err != nil {
			return proven, err
		}
	}
	seq := st.Seq // later writes must outnumber the slot read
	switch {
	case found && st.End > 0:
		if a.ckpt, err = openCheckpoint(a.fs, a.stateDir, st); err != nil {
			return state{}, err
		}
		return st, a.discardAfter(st.End, segs, tailUnsynced)
	case len(segs) > 0:
		// No checkpoint, or one recording nothing while segments exist: an
		// operator seeded the directory, or the first chunks were never
		// synced. The layout's Scan validates what is there.
		if st, err = a.scanState(segs); err != nil {
			return state{}, err
		}
	default:
		st = state{}
	}
	st.Info, st.Seq = a.info, seq
	if found {
		if a.ckpt, err = openCheckpoint(a.fs, a.stateDir, st); err == nil {
			err = a.ckpt.write(st)
		}
	} else if err = a.jnl.clear(); err == nil {
		a.ckpt, err = createCheckpoint(a.fs, a.stateDir, st)
	}
	return st, err
}

// listSegments returns the layout's segment files in dir, oldest first.
func (a *Applier) listSegments() ([]segEntry, error) {
	starts, err := plugins.ListSegments(a.layout, a.dir)
	if err != nil {
		return nil, err
	}
	segs := make([]segEntry, len(starts))
	for i, start := range starts {
		segs[i] = segEntry{start: start, path: a.segPath(start)}
	}
	return segs, nil
}

// scanState finds the end of the valid data in the newest run of
// contiguous segments, scanning from its oldest, and discards what follows.
func (a *Applier) scanState(segs []segEntry) (state, error) {
	run := newestRun(segs, a.info.SegmentSize)
	base, end := run[0].start, run[0].start
	for _, s := range run {
		sc, err := a.layout.Scan(s.path, s.start, s.start)
		if err != nil {
			return state{}, fmt.Errorf("scan segment %s: %w", s.path, err)
		}
		end = sc.End
		if !sc.Full && sc.End < s.start+a.info.SegmentSize {
			break
		}
	}
	a.log.Warn("no usable checkpoint: recovered the end by scanning the segments",
		zap.String("dir", a.dir), zap.Int64("base", base), zap.Int64("end", end), zap.Int("files", len(run)))
	if end == base {
		// Nothing valid: hold nothing, and let no stale file of the run
		// survive beside what the master sends next.
		return state{}, a.removeFiles(run, "segment without valid data")
	}
	return state{Base: base, End: end}, a.discardAfter(end, segs, tailUnsynced)
}

// newestRun returns the last run of segments whose starts follow each
// other by exactly one segment size.
func newestRun(segs []segEntry, size int64) []segEntry {
	i := len(segs) - 1
	for i > 0 && segs[i-1].start+size == segs[i].start {
		i--
	}
	return segs[i:]
}

// Why discardAfter removes a tail, for its log lines: after a crash the
// tail was never synced; after CutAt it was kept aside first.
const (
	tailUnsynced = "unsynced"
	tailCut      = "cut"
)

// discardAfter makes the directory end at end: the rest of end's segment is
// zeroed (preallocated) or truncated away, later segment files are removed,
// and the changes are synced before the checkpoint is trusted again. why
// (tailUnsynced, tailCut) says in the log lines what the tail was.
func (a *Applier) discardAfter(end int64, segs []segEntry, why string) error {
	last := plugins.SegmentStart(a.info, end-1)
	path := a.segPath(last)
	f, err := a.fs.OpenFile(path, os.O_RDWR, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("recover segment %s holding offset %d: %w (remove the checkpoint to start over): %w",
			path, end-1, ErrMissingData, err)
	}
	if err != nil {
		return fmt.Errorf("recover segment %s: %w", path, err)
	}
	defer f.Close()
	changed, err := a.discardTail(f, path, last, end, why)
	if err != nil {
		return err
	}
	if changed {
		if err := f.Datasync(); err != nil {
			return &IOError{Op: "sync", Path: path, Offset: end, Err: err}
		}
	}
	var later []segEntry
	for _, s := range segs {
		if s.start > last {
			later = append(later, s)
		}
	}
	reason := "segment beyond the synced end"
	if why == tailCut {
		reason = "segment beyond the cut (kept aside)"
	}
	return a.removeFiles(later, reason)
}

// discardTail removes the bytes after end from its segment file and reports
// whether it changed anything.
func (a *Applier) discardTail(f fsio.File, path string, start, end int64, why string) (bool, error) {
	fi, err := f.Stat()
	if err != nil {
		return false, fmt.Errorf("recover segment %s: %w", path, err)
	}
	size, pos, full := fi.Size(), end-start, a.info.SegmentSize
	if size < pos {
		return false, fmt.Errorf("recover segment %s: %d bytes, checkpoint records %d: %w", path, size, pos, ErrMissingData)
	}
	if !a.info.Preallocated {
		if size == pos {
			return false, nil
		}
		if err := f.Truncate(pos); err != nil {
			return false, &IOError{Op: "truncate", Path: path, Offset: end, Err: err}
		}
		a.log.Info("discarded "+why+" tail", zap.String("path", path), zap.Int64("offset", end), zap.Int64("bytes", size-pos))
		return true, nil
	}
	changed := false
	if size != full {
		if err := f.Truncate(full); err != nil {
			return false, &IOError{Op: "preallocate", Path: path, Offset: end, Err: err}
		}
		a.log.Warn("restored segment size", zap.String("path", path), zap.Int64("size", size), zap.Int64("want", full))
		changed = true
	}
	lo, hi, err := nonZeroRange(f, pos, full)
	if err != nil {
		return false, &IOError{Op: "read", Path: path, Offset: end, Err: err}
	}
	if lo == hi {
		return changed, nil
	}
	if err := writeZeros(f, lo, hi); err != nil {
		return false, &IOError{Op: "zero", Path: path, Offset: start + lo, Err: err}
	}
	a.log.Info("zeroed "+why+" tail", zap.String("path", path), zap.Int64("offset", end),
		zap.Int64("from", start+lo), zap.Int64("bytes", hi-lo))
	return true, nil
}

// removeFiles deletes segment files that hold no data the applier keeps.
func (a *Applier) removeFiles(segs []segEntry, why string) error {
	for _, s := range segs {
		if err := a.fs.Remove(s.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remove %s: %w", s.path, err)
		}
		a.log.Info("removed segment file", zap.String("reason", why), zap.String("path", s.path), zap.Int64("segment_offset", s.start))
	}
	if len(segs) == 0 {
		return nil
	}
	a.log.Info("discarded segment files", zap.Int("files", len(segs)))
	if err := a.fs.SyncDir(a.dir); err != nil {
		return &IOError{Op: "sync", Path: a.dir, Offset: segs[0].start, Err: err}
	}
	return nil
}
