package sidecar

import (
	"fmt"

	"github.com/hasidecar/hasidecar/plugins"
	"github.com/hasidecar/hasidecar/sidecar/haproto"
	"github.com/hasidecar/hasidecar/sidecar/lineage"
)

// lineageCmp compares a slave's lineage (its hello's entries and tail)
// with the master's store, oldest segment first, and finds the first
// block whose bytes differ. Only bytes the master both published and
// hashed are compared; the segments it cannot compare (deleted by
// retention, not hashed yet) are counted in skipped.
type lineageCmp struct {
	store    *lineage.Store
	segSize  int64
	oldest   int64 // the master's oldest published offset
	end      int64 // the master's published end
	slaveEnd int64
	tail     haproto.Hello // LineageTailStart/CRC only

	skipped  int
	compared int
	common   int64 // every compared byte below it was equal
	lastSeg  int64 // base of the newest segment compared equal; -1 none
}

// lineageVerdict is what the comparison decided.
type lineageVerdict struct {
	diverged bool
	common   int64               // when diverged: every compared byte below it is equal
	ask      *haproto.SegLineage // the segment whose block CRCs decide (LineageOf)
	why      string
}

func newLineageCmp(store *lineage.Store, info plugins.Info, oldest, end, slaveEnd int64, h haproto.Hello) *lineageCmp {
	return &lineageCmp{store: store, segSize: info.SegmentSize, oldest: oldest, end: end, slaveEnd: slaveEnd, tail: h, lastSeg: -1}
}

// completeBlocks is how many blocks of the segment at base lie wholly
// below lim: the last block of a segment whose size is not a multiple of
// BlockSize is complete at the segment's end.
func (l *lineageCmp) completeBlocks(base, lim int64) int64 {
	n := (lim - base) / lineage.BlockSize
	if lim >= base+l.segSize && l.segSize%lineage.BlockSize != 0 {
		n++
	}
	return n
}

// masterBlocks is how many complete blocks of the segment at base the
// master published and hashed; -1 when the store does not know it.
func (l *lineageCmp) masterBlocks(base int64) int64 {
	cov, ok := l.store.Covered(base)
	if !ok {
		return -1
	}
	return l.completeBlocks(base, min(cov, l.end, base+l.segSize))
}

// blockStart is the offset of block k of the segment at base.
func blockStart(base, k int64) int64 { return base + k*lineage.BlockSize }

// rollups compares the segments' rollups oldest first and stops at the
// first segment that differs or that holds complete blocks beyond the
// master's end: its block CRCs decide (verdict.ask). Then the tail.
func (l *lineageCmp) rollups(entries []haproto.SegLineage) (lineageVerdict, error) {
	for i := range entries {
		e := &entries[i]
		if e.Base%l.segSize != 0 {
			return lineageVerdict{}, fmt.Errorf("lineage entry at %d is not a segment start: %w: %w", e.Base, haproto.ErrBadHello, ErrRefused)
		}
		slaveHi := min(e.Base+l.segSize, l.slaveEnd)
		switch {
		case slaveHi <= e.Base:
			continue // no byte of the slave there
		case e.Base >= l.end:
			return lineageVerdict{diverged: true, common: l.common,
				why: fmt.Sprintf("the slave holds segment %d, beyond the master's end %d", e.Base, l.end)}, nil
		case e.Base < l.oldest:
			l.skipped++
			continue
		}
		mb := l.masterBlocks(e.Base)
		n := int64(e.Blocks)
		if mb >= n {
			mine, err := l.store.Rollup(e.Base, int(n))
			if err != nil {
				return lineageVerdict{}, fmt.Errorf("rollup of segment %d: %w", e.Base, err)
			}
			if mine != e.Rollup {
				return lineageVerdict{ask: e}, nil
			}
			l.compared++
			l.common, l.lastSeg = blockStart(e.Base, n), e.Base
			continue
		}
		if l.end >= min(blockStart(e.Base, n), e.Base+l.segSize) {
			l.skipped++ // published, not hashed yet
			continue
		}
		return lineageVerdict{ask: e}, nil // complete blocks beyond the master's end
	}
	return l.checkTail()
}

// checkTail compares the partial block holding the slave's last byte, when
// its segment's complete blocks compared equal.
func (l *lineageCmp) checkTail() (lineageVerdict, error) {
	from, want := l.tail.LineageTailStart, l.tail.LineageTailCRC
	hasTail := from != 0 || want != 0
	if !hasTail || l.lastSeg < 0 || plugins.SegmentStart(plugins.Info{SegmentSize: l.segSize}, from) != l.lastSeg || from != l.common {
		return l.beyond(), nil
	}
	cov, _ := l.store.Covered(l.lastSeg)
	if hi := min(cov, l.end); hi < l.slaveEnd {
		if l.end < l.slaveEnd {
			return lineageVerdict{diverged: true, common: from,
				why: fmt.Sprintf("the slave holds bytes up to %d, beyond the master's end %d", l.slaveEnd, l.end)}, nil
		}
		l.skipped++ // published, not hashed yet
		return l.beyond(), nil
	}
	crcs, err := l.store.Blocks(l.lastSeg, from, l.slaveEnd)
	if err != nil || len(crcs) != 1 {
		return lineageVerdict{}, fmt.Errorf("lineage of the tail block [%d, %d): %d CRCs: %w", from, l.slaveEnd, len(crcs), err)
	}
	if crcs[0] != want {
		return lineageVerdict{diverged: true, common: from,
			why: fmt.Sprintf("the partial block [%d, %d) differs", from, l.slaveEnd)}, nil
	}
	l.common = l.slaveEnd
	return l.beyond(), nil
}

// beyond is the verdict once nothing compared differs: a slave whose end
// lies beyond the master's still diverged, at the end of what compared.
func (l *lineageCmp) beyond() lineageVerdict {
	if l.slaveEnd > l.end {
		return lineageVerdict{diverged: true, common: min(l.common, l.end),
			why: fmt.Sprintf("the slave holds bytes up to %d, beyond the master's end %d", l.slaveEnd, l.end)}
	}
	return lineageVerdict{}
}

// blocks decides with the slave's block CRCs of segment e: the first
// block that differs, or the first the master does not hold.
func (l *lineageCmp) blocks(e haproto.SegLineage, theirs []uint32) (lineageVerdict, error) {
	if len(theirs) != int(e.Blocks) || lineage.RollupOf(theirs) != e.Rollup {
		return lineageVerdict{}, fmt.Errorf("slave sent %d block CRCs of segment %d whose rollup disagrees with its hello's entry (%d blocks): %w: %w",
			len(theirs), e.Base, e.Blocks, haproto.ErrBadHello, ErrRefused)
	}
	k := min(int64(len(theirs)), max(l.masterBlocks(e.Base), 0))
	mine, err := l.store.Blocks(e.Base, e.Base, blockStart(e.Base, k))
	if err != nil || int64(len(mine)) != k {
		return lineageVerdict{}, fmt.Errorf("lineage of segment %d: %d blocks for %d: %w", e.Base, len(mine), k, err)
	}
	l.compared++
	for i := range mine {
		if mine[i] != theirs[i] {
			at := blockStart(e.Base, int64(i))
			return lineageVerdict{diverged: true, common: at,
				why: fmt.Sprintf("block [%d, %d) differs", at, min(at+lineage.BlockSize, e.Base+l.segSize))}, nil
		}
	}
	if k < int64(len(theirs)) {
		at := blockStart(e.Base, k)
		return lineageVerdict{diverged: true, common: at,
			why: fmt.Sprintf("the slave holds complete blocks from %d, beyond the master's end %d", at, l.end)}, nil
	}
	return lineageVerdict{}, fmt.Errorf("segment %d: every block CRC matches but the rollups differed: lineage inconsistent", e.Base)
}
