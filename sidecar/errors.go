package sidecar

import "errors"

var (
	// ErrRefused means the master refused this slave for a reason retrying
	// cannot fix (layout mismatch, diverged directory): the slave stops.
	ErrRefused = errors.New("sidecar: refused by master")
	// ErrLie means a slave acknowledged bytes it was never sent.
	ErrLie = errors.New("sidecar: acknowledgement beyond what was sent")
	// ErrUnservable means a slave asked for an offset the master cannot serve.
	ErrUnservable = errors.New("sidecar: requested offset cannot be served")
	// ErrNeedsReseed means the master no longer holds the data the slave needs.
	ErrNeedsReseed = errors.New("sidecar: slave needs a reseed")
	// ErrMismatch means a frame did not start at the slave's end.
	ErrMismatch = errors.New("sidecar: frame offset mismatch")
)
