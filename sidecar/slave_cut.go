package sidecar

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"go.uber.org/zap"

	"github.com/hasidecar/hasidecar/plugins"
)

// truncateDiverged handles a diverged refusal under TruncateDiverged: the
// slave is cut back to the last record boundary at or below the common
// point the master named, the cut bytes kept aside (applier.CutAt), and
// true tells Run to reconnect at once. False leaves err to the refusal
// path: the flag is off, the refusal names no common point, or the cut
// cannot be made (logged, saying why).
func (s *Slave) truncateDiverged(err error) bool {
	var re *refusalError
	if !s.cfg.TruncateDiverged || !errors.Is(err, ErrDiverged) || !errors.As(err, &re) || re.common == nil {
		return false
	}
	common := *re.common
	end, base := s.End(), s.app.Base()
	if common >= end || common <= base {
		s.log.Error("master refused this slave as diverged; cannot truncate to its common point",
			zap.Int64("common_offset", common), zap.Int64("base", base), zap.Int64("end", end),
			zap.String("reason", "the common point is not inside the data held (at or below its first byte: reseed it with --reseed)"))
		return false
	}
	at, err := s.lastBoundary(common)
	if err == nil && at <= base {
		err = fmt.Errorf("the last record boundary at or below %d is %d, at or below the first byte held %d: reseed it with --reseed", common, at, base)
	}
	if err == nil {
		err = s.cutAt(at, end)
	}
	if err != nil {
		s.log.Error("master refused this slave as diverged; truncating to its common point failed",
			zap.Int64("common_offset", common), zap.Int64("end", end), zap.Error(err))
		return false
	}
	return true
}

// cutAt cuts the applier and the lineage at a record boundary.
func (s *Slave) cutAt(at, end int64) error {
	s.cutMu.Lock()
	defer s.cutMu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	cut, err := s.app.CutAt(at, "diverged from master "+s.cfg.Master)
	if err != nil {
		return err
	}
	if err := s.cutLineage(at); err != nil {
		// The lineage is rebuilt from the files at the next hello.
		s.log.Warn("cut the lineage", zap.Int64("offset", at), zap.Error(err))
	}
	s.log.Warn("truncated the diverged replica to the last record both sides agree on; the cut bytes are kept aside; reconnecting",
		zap.Int64("offset", at), zap.Int64("end", end), zap.Int64("bytes", cut.Bytes),
		zap.Int("files", len(cut.Segments)), zap.String("path", cut.Dir))
	return nil
}

// cutLineage drops the lineage at and above at. s.mu is held.
func (s *Slave) cutLineage(at int64) error {
	l := s.lin
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.stampedTo = min(l.stampedTo, at)
	l.seenTo = min(l.seenTo, at)
	seg := plugins.SegmentStart(s.layout.Info(), at)
	for base := range l.seen {
		if base >= seg {
			delete(l.seen, base)
		}
	}
	for _, si := range l.store.Segments() {
		if si.Base >= at {
			if err := l.store.Forget(si.Base); err != nil {
				return err
			}
		}
	}
	if seg == at || seg < s.lineageFirst() {
		return l.store.Sync()
	}
	if err := s.align(seg, at); err != nil {
		return err
	}
	if err := l.store.Sync(); err != nil {
		return err
	}
	return s.stamp(seg)
}

// lastBoundary is the last record boundary at or below off in the slave's
// own files: off itself when the layout says it starts a record, else the
// end of the valid records of a copy of the segment cut at off (Scan
// reports no record that the copy cuts short).
func (s *Slave) lastBoundary(off int64) (int64, error) {
	seg := plugins.SegmentStart(s.layout.Info(), off)
	if seg == off {
		return off, nil
	}
	path := s.segPath(seg)
	ok, err := s.layout.IsBoundary(path, seg, off)
	if err != nil {
		return 0, fmt.Errorf("is %d a record boundary: %w", off, err)
	}
	if ok {
		return off, nil
	}
	tmp, err := copyPrefix(path, filepath.Join(s.stateDir(), ".cut-scan.tmp"), off-seg)
	if err != nil {
		return 0, err
	}
	defer os.Remove(tmp)
	sc, err := s.layout.Scan(tmp, seg, seg)
	if err != nil {
		return 0, fmt.Errorf("scan %s up to %d for its last record boundary: %w", path, off, err)
	}
	return min(sc.End, off), nil
}

// stateDir is where the slave keeps temporary files beside its checkpoint.
func (s *Slave) stateDir() string { return s.app.StateDir() }

// copyPrefix copies the first n bytes of src to a new file dst.
func copyPrefix(src, dst string, n int64) (string, error) {
	in, err := os.Open(src)
	if err != nil {
		return "", fmt.Errorf("copy %s for a scan: %w", src, err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return "", fmt.Errorf("copy %s for a scan: %w", src, err)
	}
	defer out.Close()
	if _, err := io.Copy(out, io.NewSectionReader(in, 0, n)); err != nil {
		os.Remove(dst)
		return "", fmt.Errorf("copy %s for a scan: %w", src, err)
	}
	return dst, nil
}
