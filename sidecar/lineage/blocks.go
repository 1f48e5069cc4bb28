package lineage

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
)

// Blocks returns the digests of the blocks of segment base that start in
// [from, to): from must be a block start, to <= Covered(base). The last
// digest is of a partial block when to cuts one: that is only known when
// to is Covered (the in-memory partial block), since the store keeps no
// prefix CRC of a complete block; another to inside a block is ErrRange
// (hash the prefix from the file, BlocksOf).
func (s *Store) Blocks(base, from, to int64) ([]uint32, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, err := s.get(base)
	if err != nil {
		return nil, fmt.Errorf("lineage: blocks [%d, %d): %w", from, to, err)
	}
	cov := g.covered(s.bs)
	if from < base || (from-base)%s.bs != 0 || to < from || to > cov {
		return nil, fmt.Errorf("lineage: blocks [%d, %d) of segment %s at %d covered up to %d: from must be a block start, to <= covered: %w",
			from, to, g.name, base, cov, ErrRange)
	}
	first := (from - base) / s.bs
	last := (to - base + s.bs - 1) / s.bs // one past the last block starting below to
	out := make([]uint32, 0, last-first)
	for k := first; k < last; k++ {
		end := min(base+(k+1)*s.bs, base+g.size)
		switch {
		case k < int64(len(g.crcs)) && end <= to:
			out = append(out, g.crcs[k])
		case k == int64(len(g.crcs)) && to == cov:
			out = append(out, g.part)
		default:
			return nil, fmt.Errorf("lineage: blocks [%d, %d) of segment %s: %d cuts the block at %d below the coverage %d: %w",
				from, to, g.name, to, base+k*s.bs, cov, ErrRange)
		}
	}
	return out, nil
}

// Rollup returns the rollup of the segment's first n complete blocks.
func (s *Store) Rollup(base int64, n int) (uint32, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, err := s.get(base)
	if err != nil {
		return 0, fmt.Errorf("lineage: rollup: %w", err)
	}
	if n < 0 || n > len(g.crcs) {
		return 0, fmt.Errorf("lineage: rollup of %d blocks of segment %s with %d complete: %w", n, g.name, len(g.crcs), ErrRange)
	}
	return RollupOf(g.crcs[:n]), nil
}

// BlockCRC is the CRC-32C (Castagnoli) of p: a block's digest.
func BlockCRC(p []byte) uint32 { return crc32.Checksum(p, castagnoli) }

// RollupOf is the CRC-32C of crcs written big-endian, 4 bytes each: a
// segment's rollup over those blocks.
func RollupOf(crcs []uint32) uint32 {
	var buf [1024]byte
	var c uint32
	for len(crcs) > 0 {
		n := min(len(crcs), len(buf)/4)
		for i, x := range crcs[:n] {
			binary.BigEndian.PutUint32(buf[4*i:], x)
		}
		c = crc32.Update(c, castagnoli, buf[:4*n])
		crcs = crcs[n:]
	}
	return c
}

// BlocksOf returns the digests of the blocks of p, bytes read from a
// segment file whose first one lies at start relative to the segment's
// base (a block start; BlockSize blocks). The last digest is of a partial
// block when p ends inside one. If start is not a block start, the first
// digest covers p up to the next block start (the suffix of a block).
// The caller keeps p within one segment: a segment's short last block is
// then simply p's end.
func BlocksOf(p []byte, start int64) []uint32 {
	return blocksOf(p, start, BlockSize)
}

func blocksOf(p []byte, start, bs int64) []uint32 {
	out := make([]uint32, 0, (int64(len(p))+bs-1)/bs+1)
	if r := (start%bs + bs) % bs; r != 0 && len(p) > 0 {
		n := min(int64(len(p)), bs-r)
		out = append(out, BlockCRC(p[:n]))
		p = p[n:]
	}
	for len(p) > 0 {
		n := min(int64(len(p)), bs)
		out = append(out, BlockCRC(p[:n]))
		p = p[n:]
	}
	return out
}
