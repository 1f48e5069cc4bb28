package ack

import (
	"encoding/binary"
	"fmt"
	"time"
)

// Request is one decoded client request.
type Request struct {
	Type    uint8
	ID      uint32
	Offset  int64         // WAIT, WRITTEN
	Timeout time.Duration // WAIT
}

// RequestError is a request the server refuses. Fatal ones leave the
// stream out of step: the server answers and closes the connection.
type RequestError struct {
	ID     uint32
	Code   ErrorCode
	Reason string
}

func (e *RequestError) Error() string {
	return fmt.Sprintf("decode request %d: %s", e.ID, e.Reason)
}

// Unwrap lets callers test errors.Is(err, ErrBadRequest).
func (e *RequestError) Unwrap() error { return ErrBadRequest }

// DecodeRequest decodes a request frame's body (what ReadFrame returns:
// type, id, payload). Errors are *RequestError.
func DecodeRequest(b []byte) (Request, error) {
	if len(b) < frameHdrLen {
		return Request{}, &RequestError{Code: CodeFrame, Reason: fmt.Sprintf("frame of %d bytes", len(b))}
	}
	r := Request{Type: b[0], ID: binary.BigEndian.Uint32(b[1:5])}
	p := b[frameHdrLen:]
	bad := func(code ErrorCode, format string, a ...any) (Request, error) {
		return Request{}, &RequestError{ID: r.ID, Code: code, Reason: fmt.Sprintf(format, a...)}
	}
	n := payloadLen(r.Type)
	if n < 0 {
		return bad(CodeUnknownType, "unknown request type 0x%02x", r.Type)
	}
	if len(p) != n {
		return bad(CodeBadRequest, "request type 0x%02x with %d payload bytes, want %d", r.Type, len(p), n)
	}
	if r.Type == TypeQuery || r.Type == TypeQueryExt {
		return r, nil
	}
	r.Offset = int64(binary.BigEndian.Uint64(p))
	if r.Offset < 0 || r.Offset > MaxOffset {
		return bad(CodeBadRequest, "offset %d outside 0..%d", r.Offset, MaxOffset)
	}
	if r.Type == TypeWait {
		r.Timeout = time.Duration(binary.BigEndian.Uint32(p[8:])) * time.Millisecond
	}
	return r, nil
}

// payloadLen is a request type's fixed payload length, -1 if unknown.
func payloadLen(typ uint8) int {
	switch typ {
	case TypeWait:
		return 12
	case TypeQuery, TypeQueryExt:
		return 0
	case TypeWritten:
		return 8
	}
	return -1
}
