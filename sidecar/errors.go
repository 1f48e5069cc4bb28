package sidecar

import (
	"errors"

	"github.com/hasidecar/hasidecar/sidecar/haproto"
)

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
	// ErrLayoutMismatch means master and slave use different layouts or
	// segment sizes; the slave would build a wrong directory.
	ErrLayoutMismatch = errors.New("sidecar: layout mismatch")
	// ErrDiverged means the slave holds bytes the master does not: its data
	// differs from the master's, or goes beyond the master's end.
	ErrDiverged = errors.New("sidecar: slave diverged from master")
	// ErrMismatch means a frame did not start at the slave's end.
	ErrMismatch = errors.New("sidecar: frame offset mismatch")
)

// refusalCode classifies a refusal for the hello reply.
func refusalCode(err error) string {
	switch {
	case errors.Is(err, ErrNeedsReseed):
		return haproto.CodeReseed
	case errors.Is(err, ErrDiverged):
		return haproto.CodeDiverged
	case errors.Is(err, ErrRefused), errors.Is(err, ErrLayoutMismatch):
		return haproto.CodeLayout
	}
	return haproto.CodeUnavailable
}

// permanent reports whether a refusal cannot pass by retrying.
func permanent(err error) bool {
	return errors.Is(err, ErrRefused) || errors.Is(err, ErrNeedsReseed) || errors.Is(err, ErrDiverged) ||
		errors.Is(err, ErrLayoutMismatch)
}
