package applier

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"

	"go.uber.org/zap"

	"github.com/hasidecar/hasidecar/plugins"
)

// recoverJournal extends the checkpoint st by what the journal proves, if
// anything: the tail after the proven end is discarded, the proven bytes
// are fsynced, then a checkpoint records them. done is false when the
// journal proves nothing usable and recovery goes on from st alone.
func (a *Applier) recoverJournal(st state, segs []segEntry) (done bool, _ state, _ error) {
	p := a.replayJournal(st)
	a.log.Info("journal replayed", zap.Int64("checkpoint_end", st.End), zap.Int("entries", p.entries),
		zap.Int64("from", p.from), zap.Int64("end", p.end), zap.Int64("bytes", p.bytes()), zap.String("stopped", p.stop))
	if p.entries == 0 {
		return false, state{}, nil
	}
	if st.End == 0 {
		if s := firstSegment(segs); s < plugins.SegmentStart(a.info, p.base) {
			// The applier never holds a file before its first chunk's: these
			// came from elsewhere, and the scan decides what they hold.
			a.log.Warn("journal not used: segment files precede its first entry",
				zap.Int64("segment_offset", s), zap.Int64("first_entry", p.base))
			return false, state{}, nil
		}
	} else if err := a.checkHeld(st.End); err != nil {
		return true, state{}, err
	}
	if err := a.discardAfter(p.end, segs, tailUnsynced); err != nil {
		return true, state{}, err
	}
	// The checkpoint claims only synced bytes: sync the proven ones first.
	if err := a.syncRange(p.from, p.end); err != nil {
		return true, state{}, err
	}
	next := state{Base: p.base, End: p.end, Info: a.info}
	ckpt, err := openCheckpoint(a.fs, a.stateDir, st)
	if err != nil {
		return true, state{}, err
	}
	a.ckpt = ckpt
	if err := ckpt.write(next); err != nil {
		return true, state{}, err
	}
	a.log.Info("kept the bytes the journal proves", zap.Int64("base", next.Base), zap.Int64("end", next.End),
		zap.Int64("bytes", p.bytes()), zap.Int("entries", p.entries))
	return true, next, nil
}

// firstSegment is the oldest segment's start, or the largest offset when
// there is none.
func firstSegment(segs []segEntry) int64 {
	if len(segs) == 0 {
		return math.MaxInt64
	}
	return segs[0].start
}

// checkHeld fails with ErrMissingData unless the segment holding end-1 is
// there and long enough: the checkpoint's own bytes must still exist before
// anything is added after them.
func (a *Applier) checkHeld(end int64) error {
	last := plugins.SegmentStart(a.info, end-1)
	path := a.segPath(last)
	fi, err := a.fs.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("recover segment %s holding offset %d: %w (remove the checkpoint to start over): %w",
			path, end-1, ErrMissingData, err)
	}
	if err != nil {
		return fmt.Errorf("recover segment %s: %w", path, err)
	}
	if fi.Size() < end-last {
		return fmt.Errorf("recover segment %s: %d bytes, checkpoint records %d: %w", path, fi.Size(), end-last, ErrMissingData)
	}
	return nil
}

// syncRange fdatasyncs the segment files holding [from, end) and the
// directory (the journal may prove bytes in files whose creation was never
// synced).
func (a *Applier) syncRange(from, end int64) error {
	for s := plugins.SegmentStart(a.info, from); s < end; s += a.info.SegmentSize {
		path := a.segPath(s)
		f, err := a.fs.OpenFile(path, os.O_RDONLY, 0)
		if err != nil {
			return &IOError{Op: "open", Path: path, Offset: s, Err: err}
		}
		err = f.Datasync()
		_ = f.Close()
		if err != nil {
			return &IOError{Op: "sync", Path: path, Offset: s, Err: err}
		}
	}
	if err := a.fs.SyncDir(a.dir); err != nil {
		return &IOError{Op: "sync", Path: a.dir, Offset: end, Err: err}
	}
	return nil
}
