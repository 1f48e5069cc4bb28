package lineage

import (
	"fmt"
	"os"
)

// Segment registers the segment [base, base+size) held in the file name
// (idempotent). A lineage file loaded from disk for it is kept when its
// header agrees (same base, size and name); one that disagrees, or that
// overlaps it or shares its name, is moved aside and the segment starts
// without lineage. Registering over a segment already registered in this
// process with another size or name is an ErrRange error.
func (s *Store) Segment(base, size int64, name string) error {
	if err := checkName(name); err != nil {
		return err
	}
	if err := checkExtent(base, size); err != nil {
		return fmt.Errorf("lineage: register %s: %v: %w", name, err, ErrRange)
	}
	s.syncMu.Lock()
	defer s.syncMu.Unlock()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	if g := s.segs[base]; g != nil && g.size == size && g.name == name {
		g.confirmed = true
		s.mu.Unlock()
		return nil
	}
	stale, err := s.clashes(base, size, name)
	s.mu.Unlock()
	if err != nil {
		return err
	}
	for _, g := range stale {
		if err := s.drop(g, fmt.Errorf("disagrees with segment %s at %d of %d bytes: %w", name, base, size, ErrCorrupt)); err != nil {
			return err
		}
	}
	return s.create(base, size, name)
}

// clashes lists the loaded-only segments that the new one replaces, or
// refuses one clashing with a confirmed segment; s.mu must be held.
func (s *Store) clashes(base, size int64, name string) ([]*segment, error) {
	if _, seen := s.names[name]; !seen && base >= s.hiEnd {
		return nil, nil
	}
	var stale []*segment
	for _, g := range s.segs {
		overlap := base < g.base+g.size && g.base < base+size
		if !overlap && g.name != name {
			continue
		}
		if g.confirmed {
			return nil, fmt.Errorf("lineage: segment %s at %d of %d bytes clashes with registered %s at %d of %d bytes: %w",
				name, base, size, g.name, g.base, g.size, ErrRange)
		}
		stale = append(stale, g)
	}
	return stale, nil
}

// noteSegment keeps hiEnd and names covering a registered segment; s.mu
// must be held.
func (s *Store) noteSegment(base, size int64, name string) {
	if s.names == nil {
		s.names = make(map[string]struct{})
	}
	s.names[name] = struct{}{}
	s.hiEnd = max(s.hiEnd, base+size)
}

// drop moves a loaded segment's file aside and forgets it and its stamp;
// s.syncMu must be held.
func (s *Store) drop(g *segment, why error) error {
	path := g.path(s.dir)
	if _, err := os.Lstat(path); err == nil {
		if err := s.moveAside(path, why); err != nil {
			return err
		}
	}
	s.mu.Lock()
	delete(s.segs, g.base)
	_, stamped := s.stamps[g.base]
	delete(s.stamps, g.base)
	s.mu.Unlock()
	if stamped {
		return s.saveStamps()
	}
	return nil
}

// create writes a fresh .lin (header only) and registers it; s.syncMu
// must be held.
func (s *Store) create(base, size int64, name string) error {
	g := &segment{base: base, size: size, name: name, confirmed: true}
	h := header{blockSize: s.bs, base: base, size: size}
	if err := writeFileRenamed(g.path(s.dir), h.encode()); err != nil {
		return fmt.Errorf("lineage: create %s: %w", g.path(s.dir), err)
	}
	s.mu.Lock()
	s.segs[base] = g
	s.noteSegment(base, size, name)
	s.dirDirty = true
	s.mu.Unlock()
	return nil
}
