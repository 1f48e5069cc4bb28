package applier

import (
	"errors"
	"fmt"
	"io/fs"
)

// Sentinel errors. Test for them with errors.Is; the typed errors below
// unwrap to them or to the underlying system error.
var (
	// ErrOffsetMismatch means a chunk did not start at End(). The slave's
	// network loop drops the connection and reports End() again.
	ErrOffsetMismatch = errors.New("applier: chunk offset does not match the local end")
	// ErrCrossesSegment means a chunk would span two segment files; the
	// protocol forbids it, so the sender is broken.
	ErrCrossesSegment = errors.New("applier: chunk crosses a segment boundary")
	// ErrLayoutMismatch means the checkpoint was written for another layout
	// (name, segment size or preallocation differ).
	ErrLayoutMismatch = errors.New("applier: layout differs from the checkpoint's")
	// ErrBadOptions means invalid Options or an unparsable sync policy.
	ErrBadOptions = errors.New("applier: invalid options")
	// ErrCorruptCheckpoint means neither checkpoint slot is valid. A torn
	// write damages one slot only, so this is damage from outside.
	ErrCorruptCheckpoint = errors.New("applier: corrupt checkpoint")
	// ErrMissingData means the checkpoint records bytes that the segment
	// directory no longer holds (a segment was deleted or shortened).
	ErrMissingData = errors.New("applier: segment directory lacks data the checkpoint records")
	// ErrBusy means another Applier holds the checkpoint's lock.
	ErrBusy = errors.New("applier: state directory in use by another applier")
)

// OffsetError reports a chunk that did not start where the applier's data
// ends. It unwraps to ErrOffsetMismatch.
type OffsetError struct {
	Want int64 // End() when the chunk arrived
	Got  int64 // the chunk's offset
}

func (e *OffsetError) Error() string {
	return fmt.Sprintf("applier: chunk at offset %d, want offset %d", e.Got, e.Want)
}

// Unwrap returns ErrOffsetMismatch.
func (e *OffsetError) Unwrap() error { return ErrOffsetMismatch }

// IOError is a failed file operation on a segment or the checkpoint. It
// unwraps to the system error (syscall.ENOSPC, syscall.EFBIG, ...).
type IOError struct {
	Op     string // "create", "preallocate", "write", "sync", ...
	Path   string // the file
	Offset int64  // absolute log offset the operation was for
	Err    error
}

func (e *IOError) Error() string {
	return fmt.Sprintf("applier: %s %s at offset %d: %v", e.Op, e.Path, e.Offset, e.Err)
}

// Unwrap returns the underlying error.
func (e *IOError) Unwrap() error { return e.Err }

// errClosed is what a closed Applier returns: errors.Is(err, fs.ErrClosed).
var errClosed = fmt.Errorf("applier: %w", fs.ErrClosed)
