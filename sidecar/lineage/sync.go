package lineage

import (
	"errors"
	"fmt"
	"os"
)

// syncJob is one segment's queued records, copied out under s.mu so the
// write and the fdatasync run without it.
type syncJob struct {
	g    *segment
	from int
	crcs []uint32
	cut  bool
}

// Sync appends the queued complete-block records to their .lin files and
// fdatasyncs them. A segment whose write fails keeps its records queued
// for the next Sync (records go at fixed offsets, so a retry rewrites
// the same bytes); the errors are joined.
func (s *Store) Sync() error {
	s.syncMu.Lock()
	defer s.syncMu.Unlock()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	var jobs []syncJob
	for _, g := range s.segs {
		if len(g.crcs) > g.onDisk || g.needCut {
			jobs = append(jobs, syncJob{g: g, from: g.onDisk, crcs: append([]uint32(nil), g.crcs[g.onDisk:]...), cut: g.needCut})
		}
	}
	dirDirty := s.dirDirty
	s.dirDirty = false
	s.mu.Unlock()
	var errs []error
	for _, j := range jobs {
		path := j.g.path(s.dir)
		if err := appendRecords(path, j.from, j.crcs, j.cut); err != nil {
			errs = append(errs, fmt.Errorf("lineage: sync %s: %w", path, err))
			continue
		}
		// Only Append ran meanwhile (the rest takes syncMu), and it only
		// adds records after these.
		s.mu.Lock()
		j.g.onDisk, j.g.needCut = j.from+len(j.crcs), false
		s.mu.Unlock()
	}
	if dirDirty {
		// The names of the .lin files created since the last Sync, after
		// their headers and records (fdatasynced above).
		if err := syncDir(s.dir); err != nil {
			s.mu.Lock()
			s.dirDirty = true
			s.mu.Unlock()
			errs = append(errs, fmt.Errorf("lineage: sync %s: %w", s.dir, err))
		}
	}
	return errors.Join(errs...)
}

// Truncate drops the segment's coverage at and above end, rounded down to
// a block start; the .lin file is cut at once and fdatasynced. An end at
// or above the coverage drops nothing; one below base drops everything.
// If the cut of the file fails the memory is cut anyway and the next Sync
// retries the file's.
func (s *Store) Truncate(base, end int64) error {
	s.syncMu.Lock()
	defer s.syncMu.Unlock()
	s.mu.Lock()
	g, err := s.get(base)
	if err != nil {
		s.mu.Unlock()
		return fmt.Errorf("lineage: truncate at %d: %w", end, err)
	}
	if end >= g.covered(s.bs) {
		s.mu.Unlock()
		return nil
	}
	k := int(max(end-base, 0) / s.bs)
	if k < len(g.crcs) {
		g.crcs = g.crcs[:k]
	}
	g.part, g.partLen = 0, 0
	cutFile := g.onDisk > len(g.crcs)
	if cutFile {
		g.onDisk, g.needCut = len(g.crcs), true
	}
	n, path := g.onDisk, g.path(s.dir)
	s.mu.Unlock()
	if !cutFile {
		return nil
	}
	if err := truncateRecords(path, n); err != nil {
		return fmt.Errorf("lineage: truncate %s to %d records: %w", path, n, err)
	}
	s.mu.Lock()
	g.needCut = false
	s.mu.Unlock()
	return nil
}

// Forget removes the segment's lineage and its stamp (retention deleted
// the segment): the .lin file is deleted. An unknown segment is no error.
func (s *Store) Forget(base int64) error {
	s.syncMu.Lock()
	defer s.syncMu.Unlock()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	g := s.segs[base]
	if g == nil {
		s.mu.Unlock()
		return nil
	}
	delete(s.segs, base)
	_, stamped := s.stamps[base]
	delete(s.stamps, base)
	s.mu.Unlock()
	path := g.path(s.dir)
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("lineage: forget %s: %w", path, err)
	}
	if err := syncDir(s.dir); err != nil {
		return fmt.Errorf("lineage: forget %s: %w", path, err)
	}
	if stamped {
		return s.saveStamps()
	}
	return nil
}
