package sidecar

import (
	"errors"
	"fmt"

	"go.uber.org/zap"

	"github.com/hasidecar/hasidecar/sidecar/haproto"
)

// errAdopted ends a session after the slave took the master's segment
// size: it reconnects at once with the new layout.
var errAdopted = errors.New("adopted the master's segment size; reconnecting")

// segmentSizeOnly reports whether SegmentSizeFromMaster applies: the
// master's layout differs from the slave's in the segment size alone.
func (s *Slave) segmentSizeOnly(master haproto.LayoutInfo) bool {
	mine := s.layout.Info()
	theirs := master.Info()
	return s.cfg.SegmentSizeFromMaster && theirs.SegmentSize > 0 && theirs.SegmentSize != mine.SegmentSize &&
		theirs.Name == mine.Name && theirs.Preallocated == mine.Preallocated
}

// adoptSegmentSize reopens an empty slave with the master's segment size
// (errAdopted), or refuses a slave that holds data, naming both sizes: its
// segments cannot change size. Run logs the refusal (ERROR).
func (s *Slave) adoptSegmentSize(rep haproto.HelloReply) error {
	mine, theirs := s.layout.Info().SegmentSize, rep.Layout.SegmentSize
	s.mu.Lock()
	defer s.mu.Unlock()
	if end := s.app.End(); end != 0 {
		return fmt.Errorf("master %s uses segments of %d bytes, this slave %d bytes, and the slave holds data up to %d: "+
			"it cannot take the master's size; reseed it or set its segment size to %d: %w: %w",
			s.cfg.Master, theirs, mine, end, theirs, ErrLayoutMismatch, ErrRefused)
	}
	if s.cfg.Reopen == nil {
		return fmt.Errorf("take the master's segment size %d (slave's %d): no Reopen configured: %w: %w",
			theirs, mine, ErrLayoutMismatch, ErrRefused)
	}
	if err := s.app.Close(); err != nil {
		return fmt.Errorf("close the applier to take the master's segment size %d: %w: %w", theirs, err, ErrRefused)
	}
	lay, app, err := s.cfg.Reopen(theirs)
	if err != nil {
		return fmt.Errorf("reopen with the master's segment size %d: %w: %w", theirs, err, ErrRefused)
	}
	s.layout, s.app = lay, app
	s.log.Info("took the master's segment size: this slave held no data",
		zap.Int64("master_segment_size", theirs), zap.Int64("old_segment_size", mine), zap.String("master", s.cfg.Master))
	return errAdopted
}
