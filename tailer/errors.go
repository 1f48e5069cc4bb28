package tailer

import (
	"errors"
	"fmt"
	"io/fs"
)

// Sentinel errors. Callers test them with errors.Is; the errors returned
// carry the offset in an *OffsetError.
var (
	// ErrGone means the offset is below the oldest segment still on disk, or
	// its segment was deleted (retention): the data will never come back.
	ErrGone = errors.New("tailer: offset is gone")
	// ErrBeyondEnd means the offset is past the safe end: nothing there is
	// final yet, and it may never be (a reader ahead of the writer).
	ErrBeyondEnd = errors.New("tailer: offset is beyond the safe end")
	// errClosed means Run has returned (or was called twice): no mapping is
	// left to read from.
	errClosed = fmt.Errorf("tailer: closed: %w", fs.ErrClosed)
)

// OffsetError carries the offset a Read or IsBoundary was asked for and the
// state bounds at that moment.
type OffsetError struct {
	Op     string
	Offset int64
	Oldest int64
	End    int64
	Err    error
}

func (e *OffsetError) Error() string {
	return fmt.Sprintf("%s offset %d (oldest %d, end %d): %v", e.Op, e.Offset, e.Oldest, e.End, e.Err)
}

func (e *OffsetError) Unwrap() error { return e.Err }
