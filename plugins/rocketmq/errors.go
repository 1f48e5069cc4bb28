package rocketmq

import "errors"

// Sentinel errors of this package. They are wrapped with context ("op object:
// %w"); test them with errors.Is.
var (
	// ErrRange means an offset passed to Scan or IsBoundary lies outside the
	// segment [start, start+SegmentSize]: a caller bug, not a data problem.
	ErrRange = errors.New("rocketmq: offset outside the segment")
	// ErrNotSegment means the path is not a regular file.
	ErrNotSegment = errors.New("rocketmq: not a segment file")
	// ErrMessage means a message cannot be encoded (topic or properties too
	// long for their length fields).
	ErrMessage = errors.New("rocketmq: invalid message")
	// ErrTooLarge means a record does not fit in a segment even when empty.
	ErrTooLarge = errors.New("rocketmq: record larger than a segment")
	// ErrClosed means the writer was used after Close.
	ErrClosed = errors.New("rocketmq: writer closed")
)
