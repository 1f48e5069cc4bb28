package lineage

import (
	"fmt"
	"hash/crc32"
)

// Append hashes p, the bytes at absolute offset off of segment base. off
// must equal Covered(base), else ErrGap; bytes past the segment's end are
// ErrRange (nothing is hashed then). Completed blocks are queued for the
// .lin file (Sync writes them); a trailing partial block stays in memory.
func (s *Store) Append(base, off int64, p []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, err := s.get(base)
	if err != nil {
		return fmt.Errorf("lineage: append at %d: %w", off, err)
	}
	if cov := g.covered(s.bs); off != cov {
		return fmt.Errorf("lineage: append at %d to segment %s covered up to %d: %w", off, g.name, cov, ErrGap)
	}
	if int64(len(p)) > g.base+g.size-off {
		return fmt.Errorf("lineage: append of %d bytes at %d past the end %d of segment %s: %w", len(p), off, g.base+g.size, g.name, ErrRange)
	}
	g.hash(p, s.bs)
	return nil
}

// hash feeds p into the partial block, completing blocks on the way. A
// segment's last block is complete at the segment's end, even if short.
func (g *segment) hash(p []byte, bs int64) {
	for len(p) > 0 {
		k := int64(len(g.crcs))
		blockLen := min(bs, g.size-k*bs)
		n := min(int64(len(p)), blockLen-g.partLen)
		g.part = crc32.Update(g.part, castagnoli, p[:n])
		g.partLen += n
		p = p[n:]
		if g.partLen == blockLen {
			g.crcs = append(g.crcs, g.part)
			g.part, g.partLen = 0, 0
		}
	}
}
