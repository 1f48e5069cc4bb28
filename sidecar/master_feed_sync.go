package sidecar

import (
	"os"
	"path/filepath"
	"time"

	"go.uber.org/zap"

	"github.com/hasidecar/hasidecar/sidecar/lineage"
)

// sync makes the lineage durable and stamps the segments whose coverage
// moved with their files' size and mtime, the proof read back at the next
// start that a file did not change while its lineage was not following.
// The records are synced before the stamp is written: a crash in between
// leaves a stamp older than the file, which the next start distrusts.
func (f *feeder) sync() {
	if err := f.store.Sync(); err != nil {
		f.log.Error("sync the lineage", zap.Error(err))
		return
	}
	var batch []lineage.FileStamp
	var covered []int64
	for _, s := range f.store.Segments() {
		if prev, ok := f.stamped[s.Base]; ok && prev == s.Covered {
			continue
		}
		fi, err := os.Stat(filepath.Join(f.dir, s.Name))
		if err != nil {
			continue // deleted: forgotten once the tailer sees it gone
		}
		batch = append(batch, lineage.FileStamp{Base: s.Base, Size: fi.Size(), MtimeNs: fi.ModTime().UnixNano()})
		covered = append(covered, s.Covered)
	}
	// One rewrite of the stamps for all of them (StampMany).
	if err := f.store.StampMany(batch); err != nil {
		f.log.Error("stamp the lineage of segments", zap.Int("segments", len(batch)), zap.Error(err))
		return
	}
	for i, b := range batch {
		f.stamped[b.Base] = covered[i]
	}
}

// reconcile runs once before the first feed: a segment whose file's size
// or mtime differs from its stamp (or that has none) may have changed while
// no lineage followed it, so its lineage is dropped and the feeder hashes it
// again from the published bytes. The newest segment is the usual case (the
// writer appended while the master was down); a sealed one is worth a
// warning. A segment whose stamp matches keeps its lineage: sealed segments
// are not read again.
func (f *feeder) reconcile() {
	segs := f.store.Segments()
	for i, s := range segs {
		if s.Covered <= s.Base {
			continue
		}
		fi, err := os.Stat(filepath.Join(f.dir, s.Name))
		if err != nil {
			continue // gone: forgotten once the tailer sees it gone
		}
		size, mtime, ok := f.store.Stamped(s.Base)
		if ok && size == fi.Size() && mtime == fi.ModTime().UnixNano() {
			f.stamped[s.Base] = s.Covered
			continue
		}
		if err := f.store.Truncate(s.Base, s.Base); err != nil {
			f.log.Error("drop the lineage of a changed segment", zap.String("segment", s.Name), zap.Error(err))
			continue
		}
		f.rebuilt.Add(1)
		fields := []zap.Field{zap.String("segment", s.Name), zap.Int64("bytes", s.Covered-s.Base), zap.Bool("stamped", ok),
			zap.Int64("size", fi.Size()), zap.Time("mtime", fi.ModTime().UTC()), zap.Time("stamped_mtime", time.Unix(0, mtime).UTC())}
		if i == len(segs)-1 {
			f.log.Info("newest segment changed since its lineage was stamped: hashing it again", fields...)
		} else {
			f.log.Warn("sealed segment changed since its lineage was stamped: hashing it again", fields...)
		}
	}
}
