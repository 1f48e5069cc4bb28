package applier

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/hasidecar/hasidecar/plugins"
	"github.com/hasidecar/hasidecar/plugins/fsio"
)

// segFile is an open segment file the applier writes.
type segFile struct {
	start int64
	path  string
	f     fsio.File
	dirty bool // written since its last fdatasync
}

// Applier writes the chunks a slave receives into its segment directory and
// keeps a durable checkpoint of how much of it is synced. Its methods are
// safe for concurrent use; End, Base and Synced never wait for a sync.
type Applier struct {
	log      *zap.Logger
	dir      string
	stateDir string
	layout   plugins.Layout
	info     plugins.Info
	opts     Options
	fs       fsio.FS // opts.FS: the seam every file operation goes through

	mu         sync.Mutex
	closed     bool
	base, end  int64 // what is written (page cache)
	syncedBase int64 // what the checkpoint records
	syncedEnd  int64
	cur        *segFile   // segment holding End, or nil
	pending    []*segFile // earlier segments still dirty; synced and closed by the next sync
	dirDirty   bool       // a segment file was created since the last directory sync
	lastSync   time.Time
	ckpt       *checkpoint
	jnl        *journal // records chunks End covers but Synced does not yet
	jnlFailing bool     // the last journal append failed (logged once)
	lock       fsio.File

	// Mirrors of end, base and syncedEnd for lock-free readers.
	endA, baseA, syncedA atomic.Int64
}

// Open recovers the applier's state from the checkpoint in stateDir and the
// segment files in dir (creating both directories if missing), discarding
// any torn or unsynced tail. See doc.go for the rules.
func Open(log *zap.Logger, dir, stateDir string, layout plugins.Layout, opts Options) (*Applier, error) {
	if log == nil {
		log = zap.NewNop()
	}
	opts, err := opts.normalize()
	if err != nil {
		return nil, fmt.Errorf("open applier %s: %w", dir, err)
	}
	if layout == nil {
		return nil, fmt.Errorf("open applier %s: no layout: %w", dir, ErrBadOptions)
	}
	info := layout.Info()
	if err := info.Check(); err != nil {
		return nil, fmt.Errorf("open applier %s: %w", dir, err)
	}
	if len(info.Name) > maxNameLen {
		return nil, fmt.Errorf("open applier %s: layout name longer than %d bytes: %w", dir, maxNameLen, ErrBadOptions)
	}
	for _, d := range []string{dir, stateDir} {
		if err := opts.FS.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("open applier: create directory %s: %w", d, err)
		}
	}
	lock, err := lockState(opts.FS, stateDir)
	if err != nil {
		return nil, fmt.Errorf("open applier state %s: %w", stateDir, err)
	}
	a := &Applier{log: log, dir: dir, stateDir: stateDir, layout: layout, info: info, opts: opts, fs: opts.FS, lock: lock}
	st, err := a.recover()
	if err != nil {
		_ = a.closeFiles()
		return nil, fmt.Errorf("open applier %s: %w", dir, err)
	}
	a.jnl.restart(a.ckpt.seq)
	a.setState(st.Base, st.End)
	a.syncedBase, a.syncedEnd = st.Base, st.End
	a.syncedA.Store(st.End)
	a.lastSync = time.Now()
	log.Info("applier opened", zap.String("dir", dir), zap.String("state_dir", stateDir),
		zap.Stringer("layout", info), zap.Stringer("sync", opts.Sync),
		zap.Int64("base", st.Base), zap.Int64("end", st.End))
	return a, nil
}

// End is the next offset expected: every byte below it is written (at least
// to the page cache) and, synced or journaled, survives a crash of this
// process. 0 means the applier holds nothing.
func (a *Applier) End() int64 { return a.endA.Load() }

// Base is the first offset held: 0 when empty or when holding from 0.
func (a *Applier) Base() int64 { return a.baseA.Load() }

// Synced is the offset below which every byte is fsynced and recorded in
// the durable checkpoint. Synced() <= End().
func (a *Applier) Synced() int64 { return a.syncedA.Load() }

// Dir is the segment directory.
func (a *Applier) Dir() string { return a.dir }

// StateDir is the state directory (checkpoint, journal, cut directories).
func (a *Applier) StateDir() string { return a.stateDir }

func (a *Applier) empty() bool { return a.end == 0 }

func (a *Applier) setState(base, end int64) {
	a.base, a.end = base, end
	a.baseA.Store(base)
	a.endA.Store(end)
}

func (a *Applier) segPath(start int64) string {
	return filepath.Join(a.dir, a.layout.SegmentName(start))
}

// Apply writes data at absolute offset off. off must equal End(), except
// on an empty applier, which accepts any first offset. data must not cross
// a segment boundary. A zero-length chunk (a heartbeat) only has its offset
// checked. On any error End is unchanged, and the same chunk may be applied
// again once the cause is gone; the bytes are overwritten.
func (a *Applier) Apply(off int64, data []byte) error {
	return a.ApplyV(off, [][]byte{data})
}

// ApplyV is Apply for one chunk held in several pieces (consecutive frame
// bodies still in the network buffer), written with one pwritev instead of
// being copied together first.
func (a *Applier) ApplyV(off int64, pieces [][]byte) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return errClosed
	}
	n := int64(0)
	for _, p := range pieces {
		n += int64(len(p))
	}
	if err := a.check(off, n); err != nil || n == 0 {
		return err
	}
	seg, err := a.segmentFor(off)
	if err != nil {
		return err
	}
	var sum uint32
	if a.opts.Sync != SyncEvery {
		sum = crcPieces(pieces) // before pwritev, which consumes pieces
	}
	if err := pwritev(seg.f, pieces, off-seg.start); err != nil {
		return &IOError{Op: "write", Path: seg.path, Offset: off, Err: err}
	}
	seg.dirty = true
	base := a.base
	if a.empty() {
		base = off
	}
	if a.opts.Sync == SyncEvery {
		// Synced before ApplyV returns: nothing for the journal to prove.
		a.setState(base, off+n)
		return a.syncLocked()
	}
	// The slave may acknowledge End as soon as ApplyV returns, so the
	// record that proves these bytes after a process crash goes first.
	jerr := a.jnl.append(off, n, sum)
	a.setState(base, off+n)
	if jerr != nil || a.jnl.full() {
		a.journalFailed(jerr)
		return a.syncLocked()
	}
	a.journalFailed(nil)
	return nil
}

// journalFailed logs when journal appends start or stop failing; while they
// fail, every chunk is synced instead, so End still never covers a byte a
// process crash could lose.
func (a *Applier) journalFailed(err error) {
	if (err != nil) == a.jnlFailing {
		return
	}
	a.jnlFailing = err != nil
	if err != nil {
		a.log.Warn("journal append failed: syncing every chunk until it works again", zap.Error(err))
		return
	}
	a.log.Info("journal appends work again")
}

// check validates a chunk's placement against the current end.
func (a *Applier) check(off, n int64) error {
	if off < 0 || (!a.empty() && off != a.end) {
		return &OffsetError{Want: a.end, Got: off}
	}
	if segEnd := plugins.SegmentStart(a.info, off) + a.info.SegmentSize; n > segEnd-off {
		return fmt.Errorf("apply %d bytes at offset %d: segment ends at offset %d: %w", n, off, segEnd, ErrCrossesSegment)
	}
	return nil
}

// segmentFor returns the open segment that holds off, creating it when off
// starts a new segment or is an empty applier's first chunk.
func (a *Applier) segmentFor(off int64) (*segFile, error) {
	start := plugins.SegmentStart(a.info, off)
	if a.cur != nil && a.cur.start == start && !a.empty() {
		return a.cur, nil
	}
	var seg *segFile
	var err error
	if a.empty() || off == start {
		seg, err = a.createSegment(start, off)
	} else {
		seg, err = a.openSegment(start, off)
	}
	if err != nil {
		return nil, err
	}
	a.retire(a.cur)
	a.cur = seg
	return seg, nil
}

// createSegment creates (or empties: nothing in it is valid) the segment
// file at start. A preallocated layout gets it at full size, zero-filled;
// otherwise it grows as it is written, holes reading as zeros.
func (a *Applier) createSegment(start, off int64) (*segFile, error) {
	path := a.segPath(start)
	f, err := a.fs.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, &IOError{Op: "create", Path: path, Offset: off, Err: err}
	}
	a.dirDirty = true
	if a.info.Preallocated {
		if err := f.Truncate(a.info.SegmentSize); err != nil {
			_ = f.Close()
			return nil, &IOError{Op: "preallocate", Path: path, Offset: off, Err: err}
		}
	}
	a.log.Debug("segment created", zap.String("path", path), zap.Int64("segment_offset", start), zap.Int64("offset", off))
	return &segFile{start: start, path: path, f: f}, nil
}

// openSegment reopens the existing segment that holds End after a restart.
func (a *Applier) openSegment(start, off int64) (*segFile, error) {
	path := a.segPath(start)
	f, err := a.fs.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, &IOError{Op: "open", Path: path, Offset: off, Err: err}
	}
	return &segFile{start: start, path: path, f: f}, nil
}

// retire stops writing seg: a dirty one waits for the next sync, a clean one
// is closed now.
func (a *Applier) retire(seg *segFile) {
	if seg == nil {
		return
	}
	if seg.dirty {
		a.pending = append(a.pending, seg)
		return
	}
	_ = seg.f.Close()
}

// Sync makes everything applied durable: fdatasync of the written segments
// (and of the directory after creating files), then the checkpoint. Synced()
// equals End() afterwards. If syncing the data fails, the bytes above
// Synced() may be lost, so End() falls back to Synced() and the master must
// resend them (the next chunk at the old end fails with an OffsetError).
func (a *Applier) Sync() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return errClosed
	}
	return a.syncLocked()
}

// MaybeSync syncs under SyncInterval when there is something to sync and
// Interval has passed since the last sync; otherwise it does nothing.
func (a *Applier) MaybeSync(now time.Time) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return errClosed
	}
	if a.opts.Sync != SyncInterval || !a.needSync() || now.Sub(a.lastSync) < a.opts.Interval {
		return nil
	}
	return a.syncLocked()
}

// SyncDue reports when MaybeSync will next have work: under SyncInterval,
// while applied bytes are not synced, at the last sync plus Interval
// (pending true). Otherwise pending is false and nothing is due until the
// next Apply, so a caller need not wake for it.
func (a *Applier) SyncDue() (due time.Time, pending bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed || a.opts.Sync != SyncInterval || !a.needSync() {
		return time.Time{}, false
	}
	return a.lastSync.Add(a.opts.Interval), true
}

func (a *Applier) needSync() bool {
	return a.end != a.syncedEnd || a.base != a.syncedBase
}

func (a *Applier) syncLocked() error {
	if !a.needSync() {
		return nil
	}
	start := time.Now()
	if err := a.syncData(); err != nil {
		a.log.Warn("sync failed: falling back to the last synced offset",
			zap.Int64("end", a.end), zap.Int64("synced", a.syncedEnd), zap.Error(err))
		a.rollback()
		return err
	}
	// Data first, then the checkpoint: it never claims unsynced bytes.
	if err := a.ckpt.write(state{Base: a.base, End: a.end, Info: a.info}); err != nil {
		// As for a failed data sync: End goes back to what the checkpoint
		// holds, and the same chunk can be applied again.
		a.log.Warn("checkpoint write failed: falling back to the last synced offset",
			zap.Int64("end", a.end), zap.Int64("synced", a.syncedEnd), zap.Error(err))
		a.rollback()
		return err
	}
	a.syncedBase, a.syncedEnd = a.base, a.end
	a.syncedA.Store(a.end)
	a.jnl.restart(a.ckpt.seq)
	a.lastSync = time.Now()
	if d := a.lastSync.Sub(start); d > a.opts.SlowSync {
		a.log.Warn("slow sync", zap.Duration("took", d), zap.Int64("end", a.end))
	}
	return nil
}

// syncData fdatasyncs the dirty segments and, after creations, the
// directory. Files stay pending until all of it succeeded.
func (a *Applier) syncData() error {
	for _, s := range a.pending {
		if err := s.f.Datasync(); err != nil {
			return &IOError{Op: "sync", Path: s.path, Offset: a.end, Err: err}
		}
	}
	if a.cur != nil && a.cur.dirty {
		if err := a.cur.f.Datasync(); err != nil {
			return &IOError{Op: "sync", Path: a.cur.path, Offset: a.end, Err: err}
		}
	}
	if a.dirDirty {
		if err := a.fs.SyncDir(a.dir); err != nil {
			return &IOError{Op: "sync", Path: a.dir, Offset: a.end, Err: err}
		}
	}
	for _, s := range a.pending {
		_ = s.f.Close()
	}
	a.pending = nil
	if a.cur != nil {
		a.cur.dirty = false
	}
	a.dirDirty = false
	return nil
}

// rollback returns End to the last synced state after a failed data sync.
func (a *Applier) rollback() {
	a.setState(a.syncedBase, a.syncedEnd)
	if err := a.jnl.rewind(); err != nil {
		a.log.Warn("cannot empty the journal after a failed sync; retried at the next chunk", zap.Error(err))
	}
	if a.empty() {
		a.retire(a.cur)
		a.cur = nil
	}
}

// Close syncs, then closes every file. Later calls return an error wrapping fs.ErrClosed, except
// Close, which returns nil.
func (a *Applier) Close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return nil
	}
	err := a.syncLocked()
	a.closed = true
	return errors.Join(err, a.closeFiles())
}

func (a *Applier) closeFiles() error {
	var errs []error
	for _, s := range a.pending {
		errs = append(errs, s.f.Close())
	}
	a.pending = nil
	if a.cur != nil {
		errs = append(errs, a.cur.f.Close())
		a.cur = nil
	}
	if a.ckpt != nil {
		errs = append(errs, a.ckpt.close())
	}
	if a.jnl != nil {
		errs = append(errs, a.jnl.close())
	}
	errs = append(errs, a.lock.Close())
	return errors.Join(errs...)
}
