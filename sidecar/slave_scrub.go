package sidecar

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/hasidecar/hasidecar/sidecar/lineage"
	"github.com/hasidecar/hasidecar/sidecar/pace"
)

// DigestSource is what the scrub asks of the master's digest channel
// (sidecar/digest.Client): the block CRCs of [from, to), from a block
// start, the last one partial when to cuts a block.
type DigestSource interface {
	Digests(from, to int64) ([]uint32, error)
	Close() error
}

// scrubStats are the scrub's counters, for status and metrics.
type scrubStats struct {
	verified   atomic.Int64 // every byte from the first scrubbed up to it matched
	bytes      atomic.Int64 // bytes read back, all passes
	mismatches atomic.Int64 // ranges whose bytes differ (a run of adjacent blocks counts once)
}

// scrubChunk is the most one scrub step reads: 16 lineage blocks, one
// digest request to the master.
const scrubChunk = 16 * lineage.BlockSize

// scrubLoop re-reads the slave's own segment files at ScrubRate, from its
// first segment with lineage up to its synced end, pass after pass, and
// compares each block's CRC with the slave's lineage and, when
// DialDigests is set and the master answers, with the master's. A block
// whose bytes differ from what was replicated is an ERROR naming the
// range, and the slave stays diverged (readiness failing) until it is
// restarted: scrubbing never changes a byte.
func (s *Slave) scrubLoop(ctx context.Context) {
	select {
	case <-ctx.Done():
		return
	case <-s.acceptedC:
	}
	p := pace.New(s.cfg.ScrubRate)
	buf := make([]byte, min(scrubChunk, max(lineage.BlockSize, s.cfg.ScrubRate/lineage.BlockSize*lineage.BlockSize)))
	for ctx.Err() == nil {
		start := time.Now()
		n := s.scrubPass(ctx, p, buf)
		if n > 0 {
			s.log.Debug("scrub pass done", zap.Int64("bytes", n), zap.Duration("took", time.Since(start)),
				zap.Int64("offset", s.scrub.verified.Load()))
		}
		sleepCtx(ctx, s.cfg.ScrubPause) // between passes: an idle slave does not spin
	}
}

// scrubPass scrubs once from the first segment up to the synced end and
// returns the bytes read.
func (s *Slave) scrubPass(ctx context.Context, p *pace.Pacer, buf []byte) int64 {
	dc := s.dialDigests(ctx)
	if dc != nil {
		defer dc.Close()
	}
	size := s.layout.Info().SegmentSize
	first := s.lineageFirst()
	carry, clean := first, true
	if s.scrub.mismatches.Load() == 0 {
		carry = max(first, s.scrub.verified.Load())
	}
	var total, skipped int64
	var firstErr error
	defer func() {
		if firstErr != nil {
			s.log.Warn("scrub could not read or hash some ranges; skipped in this pass",
				zap.Int64("bytes", skipped), zap.Error(firstErr))
		}
	}()
	for seg := first; ctx.Err() == nil; seg += size {
		synced := s.app.Synced()
		if seg >= synced {
			break
		}
		hi := blocksEnd(seg, size, completeBlocks(seg, size, synced))
		for from := seg; from < hi && ctx.Err() == nil; {
			to := min(from+int64(len(buf)), hi)
			ok, read, err := s.scrubRange(dc, seg, from, to, buf)
			total += read
			if err != nil {
				firstErr, skipped = cmp.Or(firstErr, err), skipped+to-from
			}
			if clean = clean && ok; clean && read > 0 {
				s.scrub.verified.Store(max(carry, to))
			}
			p.Take(ctx, max(read, 1)) // ctx ending is seen by the loop
			from = to
		}
	}
	return total
}

// dialDigests opens the master's digest channel for one pass, or returns
// nil (the pass compares with the slave's own lineage only).
func (s *Slave) dialDigests(ctx context.Context) DigestSource {
	if s.cfg.DialDigests == nil {
		return nil
	}
	dctx, cancel := context.WithTimeout(ctx, s.cfg.DialTimeout)
	defer cancel()
	dc, err := s.cfg.DialDigests(dctx)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Warn("scrub cannot reach the master's digests; comparing with the slave's own lineage only in this pass", zap.Error(err))
		}
		return nil
	}
	return dc
}

// scrubRange reads [from, to) of the segment at seg (block-aligned, below
// the synced end) and compares it; ok is false when a block differed,
// read is 0 when the range was no longer there to read (a cut).
func (s *Slave) scrubRange(dc DigestSource, seg, from, to int64, buf []byte) (ok bool, read int64, _ error) {
	mine, own, err := s.readAndHash(seg, from, to, buf)
	if err != nil {
		return false, 0, fmt.Errorf("scrub [%d, %d): %w", from, to, err)
	}
	if mine == nil {
		return true, 0, nil
	}
	s.scrub.bytes.Add(to - from)
	var theirs []uint32
	if dc != nil {
		if theirs, err = dc.Digests(from, to); err != nil || len(theirs) != len(mine) {
			s.log.Debug("scrub: the master gave no digests for the range; compared with the slave's own lineage only",
				zap.Int64("offset", from), zap.Int64("end", to), zap.Int("crcs", len(theirs)), zap.Error(err))
			theirs = nil
		}
	}
	return s.compareBlocks(seg, from, to, mine, own, theirs), to - from, nil
}

// readAndHash reads [from, to) and returns its block CRCs and the
// lineage's, under the cut lock; nil when a cut moved the synced end below to.
func (s *Slave) readAndHash(seg, from, to int64, buf []byte) (mine, own []uint32, err error) {
	s.cutMu.RLock()
	defer s.cutMu.RUnlock()
	if to > s.app.Synced() {
		return nil, nil, nil
	}
	f, err := os.Open(s.segPath(seg))
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	b := buf[:to-from]
	if _, err := f.ReadAt(b, from-seg); err != nil {
		return nil, nil, fmt.Errorf("read segment %s at %d: %w", s.layout.SegmentName(seg), from, err)
	}
	for p := 0; p < len(b); p += lineage.BlockSize {
		mine = append(mine, lineage.BlockCRC(b[p:min(len(b), p+lineage.BlockSize)]))
	}
	s.lin.mu.Lock()
	own, err = s.lin.store.Blocks(seg, from, to)
	s.lin.mu.Unlock()
	if err == nil && len(own) != len(mine) {
		err = fmt.Errorf("lineage holds %d blocks for [%d, %d), the file %d", len(own), from, to, len(mine))
	}
	return mine, own, err
}

// compareBlocks reports each run of adjacent differing blocks once.
func (s *Slave) compareBlocks(seg, from, to int64, mine, own, theirs []uint32) bool {
	ok := true
	for i := 0; i < len(mine); {
		if mine[i] == own[i] && (theirs == nil || mine[i] == theirs[i]) {
			i++
			continue
		}
		j := i
		vsMaster := theirs != nil && mine[i] != theirs[i]
		for j < len(mine) && (mine[j] != own[j] || (theirs != nil && mine[j] != theirs[j])) {
			j++
		}
		lo, hi := from+int64(i)*lineage.BlockSize, min(from+int64(j)*lineage.BlockSize, to)
		s.scrubMismatch(seg, lo, hi, vsMaster, theirs != nil)
		ok = false
		i = j
	}
	return ok
}

// scrubMismatch logs a differing range and, unless the master's digests
// vouch for the file (then only the slave's lineage record is wrong),
// makes the slave diverged until a restart.
func (s *Slave) scrubMismatch(seg, lo, hi int64, vsMaster, compared bool) {
	name := s.layout.SegmentName(seg)
	what := "the slave's own lineage (the master's digests were not available)"
	switch {
	case vsMaster:
		what = "the master's digests"
	case compared:
		s.log.Error("scrub: the slave's lineage record differs from its file, whose bytes match the master's digests",
			zap.String("segment", name), zap.Int64("offset", lo), zap.Int64("end", hi))
		return
	}
	s.scrub.mismatches.Add(1)
	reason := fmt.Sprintf("scrub: bytes [%d, %d) of segment %s differ from %s", lo, hi, name, what)
	s.log.Error("scrub found bytes that differ; the slave stays diverged until restarted or repaired",
		zap.String("segment", name), zap.Int64("offset", lo), zap.Int64("end", hi), zap.Int64("bytes", hi-lo), zap.String("reason", reason))
	s.scrubbed.Store(&reason)
	s.setState(SlaveDiverged, reason)
}
