package ack

import "errors"

var (
	// ErrBadPolicy means an ack policy string could not be parsed.
	ErrBadPolicy = errors.New("ack: invalid ack policy")
	// ErrBadRequest means a request frame was malformed or out of range.
	ErrBadRequest = errors.New("ack: bad request")
	// ErrBadFrame means a frame could not be decoded (wrong length or type).
	ErrBadFrame = errors.New("ack: bad frame")
	// ErrBadPreamble means a connection did not start with the ack magic.
	ErrBadPreamble = errors.New("ack: bad preamble")
	// ErrVersion means the peer speaks a protocol version we do not.
	ErrVersion = errors.New("ack: unsupported protocol version")
	// ErrBusy means the server refused a connection: it has as many open
	// as it allows (the preamble status PreambleBusy).
	ErrBusy = errors.New("ack: server busy: too many connections")
	// ErrPathInUse means the socket path is held by a live listener or is
	// not a socket at all: the server refuses to replace it.
	ErrPathInUse = errors.New("ack: socket path in use")
)
