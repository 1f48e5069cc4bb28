package rocketmq

import (
	"fmt"
	"os"

	"go.uber.org/zap"

	"github.com/hasidecar/hasidecar/plugins"
)

// segments lists the start offsets of the segment files in the directory,
// oldest first.
func (w *Writer) segments() ([]int64, error) {
	return plugins.ListSegments(w.layout, w.dir)
}

// recoverEnd finds where the last writer stopped. It scans the newest
// segment; an empty newest segment whose predecessor was never sealed is
// removed (its creation outran the seal, e.g. a power loss) so the log stays
// contiguous, and the predecessor is used instead.
func (w *Writer) recoverEnd() error {
	starts, err := w.segments()
	if err != nil {
		return fmt.Errorf("recover %s: %w", w.dir, err)
	}
	for i := len(starts) - 1; i >= 0; i-- {
		start := starts[i]
		sc, err := w.layout.Scan(w.path(start), start, start)
		if err != nil {
			return fmt.Errorf("recover %s: %w", w.dir, err)
		}
		if sc.End > start || i == 0 {
			return w.resumeAt(start, sc.End, sc.Full)
		}
		prev, err := w.layout.Scan(w.path(starts[i-1]), starts[i-1], starts[i-1])
		if err != nil {
			return fmt.Errorf("recover %s: %w", w.dir, err)
		}
		if prev.Full {
			return w.resumeAt(start, start, false)
		}
		w.log.Warn("removing empty segment after an unsealed one",
			zap.String("path", w.path(start)), zap.Int64("offset", prev.End))
		if err := os.Remove(w.path(start)); err != nil {
			return fmt.Errorf("recover %s: %w", w.dir, err)
		}
	}
	return nil // no segments: start at offset 0
}

// resumeAt continues writing at end inside the segment starting at start.
func (w *Writer) resumeAt(start, end int64, full bool) error {
	w.end = end
	if full {
		// The next Append creates the following segment.
		w.log.Info("writer resumed after a sealed segment", zap.Int64("offset", end))
		return nil
	}
	if err := w.openSegment(start); err != nil {
		return fmt.Errorf("recover %s: %w", w.dir, err)
	}
	w.log.Info("writer resumed", zap.String("segment", w.layout.SegmentName(start)), zap.Int64("offset", end))
	return nil
}

// applyRetention deletes the oldest segments beyond Retain, never the
// current one.
func (w *Writer) applyRetention() error {
	if w.retain == 0 {
		return nil
	}
	starts, err := w.segments()
	if err != nil {
		return fmt.Errorf("retention %s: %w", w.dir, err)
	}
	for len(starts) > w.retain && starts[0] < w.segStart {
		if err := os.Remove(w.path(starts[0])); err != nil {
			return fmt.Errorf("retention: %w", err)
		}
		w.log.Info("segment deleted by retention", zap.String("segment", w.layout.SegmentName(starts[0])),
			zap.Int("retain", w.retain))
		starts = starts[1:]
	}
	return nil
}
