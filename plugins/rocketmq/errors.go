package rocketmq

import "errors"

// Sentinel errors of this package. They are wrapped with context ("op object:
// %w"); test them with errors.Is.
var (
	// ErrMessage means a message cannot be encoded (topic or properties too
	// long for their length fields).
	ErrMessage = errors.New("rocketmq: invalid message")
	// ErrTooLarge means a record does not fit in a segment even when empty.
	ErrTooLarge = errors.New("rocketmq: record larger than a segment")
)
