package lineage

import (
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"time"

	"go.uber.org/zap"
)

// Rebuild recomputes the segment's lineage from r, its file (offset 0 is
// base), over [base, end), replacing what was there: for a file that
// changed behind the lineage's back. It reads in BlockSize pieces
// without holding the store, then writes the new .lin atomically. Appends
// to the same segment must not run meanwhile (they would be lost).
func (s *Store) Rebuild(base, end int64, r io.ReaderAt) error {
	s.mu.Lock()
	g, err := s.get(base)
	var size int64
	if err == nil {
		size = g.size
	}
	s.mu.Unlock()
	if err != nil {
		return fmt.Errorf("lineage: rebuild up to %d: %w", end, err)
	}
	if end < base || end > base+size {
		return fmt.Errorf("lineage: rebuild segment %s at %d up to %d, past its %d bytes: %w", g.name, base, end, size, ErrRange)
	}
	start := time.Now()
	fresh := &segment{base: base, size: size, name: g.name, confirmed: true}
	if err := fresh.readFrom(r, end-base, s.bs); err != nil {
		return fmt.Errorf("lineage: rebuild segment %s from its file: %w", g.name, err)
	}
	if err := s.install(g, fresh); err != nil {
		return err
	}
	s.log.Info("lineage: rebuilt from the segment file", zap.String("segment", g.name),
		zap.Int64("segment_offset", base), zap.Int64("end", end), zap.Duration("took", time.Since(start)))
	return nil
}

// readFrom hashes the first n bytes of r into g, one block per read.
func (g *segment) readFrom(r io.ReaderAt, n, bs int64) error {
	buf := make([]byte, min(bs, max(n, 1)))
	for off := int64(0); off < n; {
		piece := buf[:min(int64(len(buf)), n-off)]
		got, err := r.ReadAt(piece, off)
		if got < len(piece) {
			if err == nil || errors.Is(err, io.EOF) {
				err = fmt.Errorf("file ends at %d, below %d: %w", off+int64(got), n, ErrRange)
			}
			return err
		}
		g.part = crc32.Update(g.part, castagnoli, piece)
		g.partLen += int64(len(piece))
		if blockLen := min(bs, g.size-int64(len(g.crcs))*bs); g.partLen == blockLen {
			g.crcs = append(g.crcs, g.part)
			g.part, g.partLen = 0, 0
		}
		off += int64(len(piece))
	}
	return nil
}

// install writes fresh's .lin atomically and puts it in old's place.
func (s *Store) install(old, fresh *segment) error {
	s.syncMu.Lock()
	defer s.syncMu.Unlock()
	s.mu.Lock()
	if cur, err := s.get(old.base); err != nil || cur != old {
		s.mu.Unlock()
		return fmt.Errorf("lineage: rebuild segment %s at %d: replaced or forgotten meanwhile: %w", old.name, old.base, ErrUnknown)
	}
	s.mu.Unlock()
	h := header{blockSize: s.bs, base: fresh.base, size: fresh.size}
	b := h.encode()
	for _, c := range fresh.crcs {
		b = append(b, byte(c>>24), byte(c>>16), byte(c>>8), byte(c))
	}
	path := fresh.path(s.dir)
	if err := writeFileAtomic(path, b); err != nil {
		return fmt.Errorf("lineage: rebuild %s: %w", path, err)
	}
	fresh.onDisk = len(fresh.crcs)
	s.mu.Lock()
	s.segs[fresh.base] = fresh
	s.noteSegment(fresh.base, fresh.size, fresh.name)
	s.mu.Unlock()
	return nil
}
