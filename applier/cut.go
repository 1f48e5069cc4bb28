package applier

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"go.uber.org/zap"

	"github.com/hasidecar/hasidecar/plugins"
)

// CutPrefix starts the name of every directory CutAt creates in the state
// directory.
const CutPrefix = "cut-"

// CutInfoName is the file in a cut directory that says what it holds.
const CutInfoName = "info.json"

// ErrCutRange means CutAt was given an offset it cannot cut at: above
// End, or at or below Base (nothing would be kept: that is a reseed).
var ErrCutRange = errors.New("applier: cut offset outside the data held")

// CutSegment is one segment's cut tail, kept in Cut.Dir/Name: the file
// holds the bytes [From, To) of the segment (absolute offsets), from its
// first byte.
type CutSegment struct {
	Name        string `json:"name"`
	SegmentBase int64  `json:"segment_offset"`
	From        int64  `json:"from"`
	To          int64  `json:"to"`
}

// Cut describes what CutAt moved aside; it is also the content of
// Dir/info.json.
type Cut struct {
	Dir      string       `json:"-"`
	At       int64        `json:"cut_offset"` // the new End
	OldEnd   int64        `json:"old_end"`
	Bytes    int64        `json:"bytes"` // OldEnd - At
	Reason   string       `json:"reason"`
	Time     time.Time    `json:"time"`
	Segments []CutSegment `json:"segments"`
}

// CutAt makes off the applier's end, keeping the bytes [off, End) aside
// in stateDir/cut-<UTC time>/ (one file per segment, named as the segment,
// and info.json), never deleting them. off must lie in (Base, End]; it
// should be a record boundary (the caller's job: the master refuses to
// stream from inside a record). Order, so that a crash at any point loses
// nothing and leaves a directory Open recovers: everything applied is
// synced first; the copies, info.json and the cut directory are fsynced;
// then the checkpoint records off; only then is the tail zeroed
// (preallocated layouts) or truncated away, and later segment files
// removed, as recovery would do after a crash past the checkpoint write.
// off == End cuts nothing and creates no directory.
func (a *Applier) CutAt(off int64, reason string) (Cut, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return Cut{}, errClosed
	}
	if err := a.syncLocked(); err != nil {
		return Cut{}, fmt.Errorf("cut at %d: sync first: %w", off, err)
	}
	cut := Cut{At: off, OldEnd: a.end, Bytes: a.end - off, Reason: reason, Time: time.Now().UTC()}
	if off == a.end && !a.empty() {
		return cut, nil
	}
	if a.empty() || off <= a.base || off > a.end {
		return Cut{}, fmt.Errorf("cut at %d: the applier holds [%d, %d): %w", off, a.base, a.end, ErrCutRange)
	}
	if err := a.keepCut(&cut); err != nil {
		return Cut{}, fmt.Errorf("cut at %d: %w", off, err)
	}
	if err := a.applyCut(off); err != nil {
		return cut, fmt.Errorf("cut at %d (the cut bytes are kept in %s): %w", off, cut.Dir, err)
	}
	a.log.Warn("cut the replica back: bytes kept aside", zap.Int64("offset", off), zap.Int64("end", cut.OldEnd),
		zap.Int64("bytes", cut.Bytes), zap.Int("files", len(cut.Segments)), zap.String("path", cut.Dir), zap.String("reason", reason))
	return cut, nil
}

// keepCut copies [cut.At, cut.OldEnd) of every segment it spans into a new
// cut directory and makes all of it durable.
func (a *Applier) keepCut(cut *Cut) error {
	dir, err := makeCutDir(a.stateDir, cut.Time)
	if err != nil {
		return err
	}
	cut.Dir = dir
	for s := plugins.SegmentStart(a.info, cut.At); s < cut.OldEnd; s += a.info.SegmentSize {
		seg := CutSegment{Name: a.layout.SegmentName(s), SegmentBase: s, From: max(s, cut.At), To: min(s+a.info.SegmentSize, cut.OldEnd)}
		if seg.From >= seg.To {
			continue
		}
		if err := copyRange(a.segPath(s), filepath.Join(dir, seg.Name), seg.From-s, seg.To-seg.From); err != nil {
			return err
		}
		cut.Segments = append(cut.Segments, seg)
	}
	if err := writeCutInfo(dir, *cut); err != nil {
		return err
	}
	for _, d := range []string{dir, a.stateDir} {
		if err := a.fs.SyncDir(d); err != nil {
			return &IOError{Op: "sync", Path: d, Offset: cut.At, Err: err}
		}
	}
	return nil
}

// applyCut records off in the checkpoint, then removes what lies after it.
func (a *Applier) applyCut(off int64) error {
	// The open files may be removed below: the next chunk reopens End's.
	a.retire(a.cur)
	a.cur = nil
	if err := a.syncData(); err != nil {
		return err
	}
	if err := a.ckpt.write(state{Base: a.base, End: off, Info: a.info}); err != nil {
		return err
	}
	a.jnl.restart(a.ckpt.seq)
	a.setState(a.base, off)
	a.syncedBase, a.syncedEnd = a.base, off
	a.syncedA.Store(off)
	segs, err := a.listSegments()
	if err != nil {
		return err
	}
	return a.discardAfter(off, segs, tailCut)
}

func makeCutDir(stateDir string, now time.Time) (string, error) {
	return makeFreshDir(filepath.Join(stateDir, CutPrefix+now.Format("20060102T150405.000000000Z")), "cut")
}

// copyRange copies n bytes at position at of src into a new file dst, and
// fsyncs it.
func copyRange(src, dst string, at, n int64) error {
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("keep cut bytes of %s: %w", src, err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("keep cut bytes of %s: %w", src, err)
	}
	defer out.Close()
	got, err := io.Copy(out, io.NewSectionReader(in, at, n))
	if err == nil && got != n {
		err = fmt.Errorf("%s holds %d bytes at %d, want %d: %w", src, got, at, n, ErrMissingData)
	}
	if err == nil {
		err = out.Sync()
	}
	if err != nil {
		return &IOError{Op: "keep cut bytes", Path: dst, Offset: at, Err: err}
	}
	return nil
}

func writeCutInfo(dir string, cut Cut) error {
	b, err := json.MarshalIndent(cut, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", CutInfoName, err)
	}
	p := filepath.Join(dir, CutInfoName)
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("write %s: %w", p, err)
	}
	defer f.Close()
	if _, err = f.Write(append(b, '\n')); err == nil {
		err = f.Sync()
	}
	if err != nil {
		return &IOError{Op: "write cut info", Path: p, Err: err}
	}
	return nil
}
