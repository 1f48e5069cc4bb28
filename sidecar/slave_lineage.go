package sidecar

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/hasidecar/hasidecar/plugins"
	"github.com/hasidecar/hasidecar/sidecar/lineage"
)

// replicaLineage is the slave's side of segment lineage (package
// sidecar/lineage): every applied byte is hashed, in order, as it is
// written; the segment files are stamped (size, mtime) after each sync, so
// that a file changed behind the slave's back (a stray write, a bad disk
// fixed by hand) is seen at the next hello and its lineage rebuilt from
// the file. The first segment of a slave that started in the middle of a
// segment holds zeros below its base, not the master's bytes: it has no
// lineage, is never offered and never scrubbed.
type replicaLineage struct {
	store *lineage.Store
	mu    sync.Mutex // guards the fields below; taken inside Slave.mu by feed
	// stampedTo is the synced end the last stamping covered: segments
	// wholly below it were last written by this process before their
	// stamp, so a size or mtime other than the stamp's is someone else's.
	stampedTo int64
	lastSync  time.Time // of the lineage by stampSynced: at most once per stampEvery
	// seen holds each segment file's size and mtime as stat'ed right after
	// one of this process's syncs, under Slave.mu (no write of ours in
	// between), up to the synced end seenTo. Stamps are taken from it, not
	// from a later stat: a stray write between the sync and a deferred stamp
	// would otherwise be stamped as ours and never seen.
	seen    map[int64]fileStat
	seenTo  int64
	failing bool // the last feed failed (logged once until it works)
	broken  bool // refresh failed: offer no lineage until one succeeds
}

// fileStat is a segment file's size and mtime.
type fileStat struct{ size, mtimeNs int64 }

// observeSynced records the stat of the segment files the last sync
// covered. Called with s.mu held right after a sync of the applier.
func (s *Slave) observeSynced() {
	l := s.lin
	if l == nil {
		return
	}
	synced := s.app.Synced()
	l.mu.Lock()
	defer l.mu.Unlock()
	if synced <= l.seenTo {
		return
	}
	if l.seen == nil {
		l.seen = make(map[int64]fileStat)
	}
	info := s.layout.Info()
	for seg := max(s.lineageFirst(), plugins.SegmentStart(info, l.seenTo)); seg < synced; seg += info.SegmentSize {
		fi, err := os.Stat(s.segPath(seg))
		if err != nil {
			delete(l.seen, seg) // stamp() stats it then, and says why it fails
			continue
		}
		l.seen[seg] = fileStat{fi.Size(), fi.ModTime().UnixNano()}
	}
	l.seenTo = synced
}

// segPath is the path of the segment file that starts at base.
func (s *Slave) segPath(base int64) string {
	return filepath.Join(s.app.Dir(), s.layout.SegmentName(base))
}

// lineageFirst is the first segment base with lineage: the segment holding
// the applier's base when that is its start, else the next one.
func (s *Slave) lineageFirst() int64 {
	info := s.layout.Info()
	b := s.app.Base()
	if seg := plugins.SegmentStart(info, b); seg != b {
		return seg + info.SegmentSize
	}
	return b
}

// feed hashes applied bytes at off into the lineage. Called with s.mu held,
// after the applier took them. A failure is logged once and repaired at the
// next feed or hello (align reads the bytes back from the file).
func (s *Slave) feed(off int64, pieces [][]byte) {
	l := s.lin
	if l == nil {
		return
	}
	info := s.layout.Info()
	seg := plugins.SegmentStart(info, off)
	if seg < s.lineageFirst() {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	err := s.align(seg, off)
	for _, p := range pieces {
		if err != nil {
			break
		}
		err = l.store.Append(seg, off, p)
		off += int64(len(p))
	}
	if (err != nil) != l.failing {
		l.failing = err != nil
		if err != nil {
			s.log.Warn("cannot hash replicated bytes into the lineage; repaired from the file at the next frame or hello",
				zap.Int64("offset", off), zap.String("segment", s.layout.SegmentName(seg)), zap.Error(err))
		} else {
			s.log.Info("lineage hashing works again", zap.Int64("offset", off))
		}
	}
}

// align makes segment seg's lineage cover exactly [seg, off): coverage
// beyond off (the applier fell back after a failed sync, or a cut) is
// dropped, and bytes below off it lacks (the in-memory partial block lost
// at a restart) are read back from the file. l.mu is held.
func (s *Slave) align(seg, off int64) error {
	st := s.lin.store
	size := s.layout.Info().SegmentSize
	if err := st.Segment(seg, size, s.layout.SegmentName(seg)); err != nil {
		return fmt.Errorf("register segment %d: %w", seg, err)
	}
	cov, _ := st.Covered(seg)
	if cov == off {
		return nil
	}
	if cov > off {
		if err := st.Truncate(seg, off); err != nil {
			return fmt.Errorf("truncate lineage of segment %d at %d: %w", seg, off, err)
		}
		cov, _ = st.Covered(seg)
	}
	if cov >= off {
		return nil
	}
	f, err := os.Open(s.segPath(seg))
	if err != nil {
		return fmt.Errorf("read segment %d back for its lineage: %w", seg, err)
	}
	defer f.Close()
	buf := make([]byte, lineage.BlockSize)
	for cov < off {
		n := min(int64(len(buf)), off-cov)
		if _, err := f.ReadAt(buf[:n], cov-seg); err != nil {
			return fmt.Errorf("read segment %d at %d back for its lineage: %w", seg, cov, err)
		}
		if err := st.Append(seg, cov, buf[:n]); err != nil {
			return fmt.Errorf("hash segment %d at %d: %w", seg, cov, err)
		}
		cov += n
	}
	return nil
}

// stampEvery bounds how often the sync loop syncs the lineage files: a
// lineage record covers a whole block, a second of them is cheap to redo.
const stampEvery = time.Second

// stampSynced syncs the lineage and stamps the segments written up to the
// applier's synced end, once it moved past the last stamping, at most once
// per stampEvery unless forced.
//
// It returns when a stamp it left for later is due (ok false: none is).
func (s *Slave) stampSynced(force bool) (time.Time, bool) {
	l := s.lin
	if l == nil {
		return time.Time{}, false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	synced := l.seenTo
	if synced == l.stampedTo {
		return time.Time{}, false
	}
	if next := l.lastSync.Add(stampEvery); !force && time.Now().Before(next) {
		return next, true
	}
	l.lastSync = time.Now()
	if err := l.store.Sync(); err != nil {
		s.log.Warn("sync lineage", zap.Error(err))
		return l.lastSync.Add(stampEvery), true
	}
	info := s.layout.Info()
	from := max(s.lineageFirst(), plugins.SegmentStart(info, min(l.stampedTo, synced)))
	for seg := from; seg < synced; seg += info.SegmentSize {
		if err := s.stampSeen(seg); err != nil {
			s.log.Warn("stamp segment for its lineage", zap.String("segment", s.layout.SegmentName(seg)), zap.Error(err))
			return l.lastSync.Add(stampEvery), true
		}
	}
	l.stampedTo = synced
	return time.Time{}, false
}

// stamp records the segment file's size and mtime. l.mu is held.
// stampSeen stamps seg with its stat observed after a sync. l.mu is held.
func (s *Slave) stampSeen(seg int64) error {
	fs, ok := s.lin.seen[seg]
	if !ok {
		return s.stamp(seg)
	}
	return s.lin.store.Stamp(seg, fs.size, fs.mtimeNs)
}

func (s *Slave) stamp(seg int64) error {
	fi, err := os.Stat(s.segPath(seg))
	if err != nil {
		return err
	}
	return s.lin.store.Stamp(seg, fi.Size(), fi.ModTime().UnixNano())
}

// refreshLineage runs before each hello: lineage of segments the
// directory no longer holds is forgotten, every segment file whose size
// or mtime differs from its stamp (and that this process has not written
// since) is rebuilt from the file with a WARN line, and the coverage of
// each segment is made to end where the applier's data does. A failure
// leaves the slave offering no lineage in this hello.
func (s *Slave) refreshLineage() {
	l := s.lin
	if l == nil {
		return
	}
	s.stampSynced(true)
	l.mu.Lock()
	defer l.mu.Unlock()
	err := s.refreshLocked()
	if err != nil {
		s.log.Error("cannot bring the lineage up to date with the segment files; offering none in this hello", zap.Error(err))
	}
	l.broken = err != nil
}

func (s *Slave) refreshLocked() error {
	info := s.layout.Info()
	first, end := s.lineageFirst(), s.app.End()
	for _, si := range s.lin.store.Segments() {
		if si.Base < first || si.Base >= end || !fileExists(s.segPath(si.Base)) {
			if err := s.lin.store.Forget(si.Base); err != nil {
				return fmt.Errorf("forget lineage of segment %d: %w", si.Base, err)
			}
		}
	}
	for seg := first; seg < end; seg += info.SegmentSize {
		if err := s.refreshSegment(seg, min(seg+info.SegmentSize, end), end); err != nil {
			return err
		}
	}
	return s.lin.store.Sync()
}

// refreshSegment checks one segment holding [seg, to) against its stamp.
func (s *Slave) refreshSegment(seg, to, end int64) error {
	st := s.lin.store
	if err := st.Segment(seg, s.layout.Info().SegmentSize, s.layout.SegmentName(seg)); err != nil {
		return fmt.Errorf("register segment %d: %w", seg, err)
	}
	ours := to > s.lin.stampedTo && s.lin.stampedTo != end // written by this process since its stamp
	fi, err := os.Stat(s.segPath(seg))
	if err != nil {
		return fmt.Errorf("stat segment %d: %w", seg, err)
	}
	size, mtime, ok := st.Stamped(seg)
	cov, _ := st.Covered(seg)
	changed := !ours && (!ok || size != fi.Size() || mtime != fi.ModTime().UnixNano())
	if !changed {
		return s.align(seg, to)
	}
	why := "no stamp"
	if ok {
		why = fmt.Sprintf("stamped size %d mtime %d, now size %d mtime %d", size, mtime, fi.Size(), fi.ModTime().UnixNano())
	}
	if err := s.rebuild(seg, to); err != nil {
		return err
	}
	if ok || cov > seg {
		s.log.Warn("segment file changed since its lineage was confirmed: rebuilt its lineage from the file",
			zap.String("segment", s.layout.SegmentName(seg)), zap.Int64("segment_offset", seg), zap.Int64("end", to), zap.String("reason", why))
	}
	return s.stamp(seg)
}

// rebuild recomputes segment seg's lineage from its file over [seg, to).
func (s *Slave) rebuild(seg, to int64) error {
	f, err := os.Open(s.segPath(seg))
	if err != nil {
		return fmt.Errorf("rebuild lineage of segment %d: %w", seg, err)
	}
	defer f.Close()
	if err := s.lin.store.Rebuild(seg, to, f); err != nil {
		return fmt.Errorf("rebuild lineage of segment %d: %w", seg, err)
	}
	return nil
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return !errors.Is(err, fs.ErrNotExist)
}

// stampAtExit syncs what was applied and stamps it, so that a clean stop
// leaves no segment that the next start would take for changed behind its
// back (and rebuild). After a crash those segments are rebuilt.
func (s *Slave) stampAtExit() {
	if s.lin == nil {
		return
	}
	s.mu.Lock()
	err := s.app.Sync()
	if err == nil {
		s.observeSynced()
	}
	s.mu.Unlock()
	if err != nil {
		s.log.Warn("sync before stamping the lineage at exit", zap.Error(err))
		return
	}
	s.stampSynced(true)
}
