package ack

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"time"
)

// Protocol constants; doc.go describes the format byte by byte.
const (
	Version      = 1
	PreambleLen  = 8
	frameHdrLen  = 5 // type uint8 + id uint32, after the length field
	MaxRequest   = 64
	MaxResponse  = 1 << 20
	MaxOffset    = int64(1) << 62 // larger offsets are absurd: ERROR
	maxReason    = 1024
	maxSlaveWire = 1000
	maxIDWire    = 255
)

// Magic opens every preamble: "HSAK".
var Magic = [4]byte{'H', 'S', 'A', 'K'}

// Frame types.
const (
	TypeWait         uint8 = 0x01
	TypeQuery        uint8 = 0x02
	TypeWritten      uint8 = 0x03
	TypeQueryExt     uint8 = 0x04 // QUERY whose STATUS carries the trailer
	TypeOK           uint8 = 0x81
	TypeTimeout      uint8 = 0x82
	TypeNotAvailable uint8 = 0x83
	TypeStatus       uint8 = 0x84
	TypeError        uint8 = 0xFF
)

// Preamble answer statuses.
const (
	PreambleOK         uint16 = 0
	PreambleBadVersion uint16 = 1
	PreambleBadMagic   uint16 = 2
	PreambleBusy       uint16 = 3 // too many connections; try again later
)

// ErrorCode classifies an ERROR response.
type ErrorCode uint16

// ERROR codes. After CodeFrame the server closes the connection.
const (
	CodeBadRequest  ErrorCode = 1 // bad field value (offset), connection kept
	CodeUnknownType ErrorCode = 2 // unknown request type, connection kept
	CodeFrame       ErrorCode = 3 // length out of range, connection closed
	CodeBusy        ErrorCode = 4 // too many requests in flight, connection kept
)

// ServerError is an ERROR response. It wraps ErrBadRequest.
type ServerError struct {
	Code   ErrorCode
	Reason string
}

func (e *ServerError) Error() string {
	return fmt.Sprintf("ack server error %d: %s", e.Code, e.Reason)
}

// Unwrap lets callers test errors.Is(err, ErrBadRequest).
func (e *ServerError) Unwrap() error { return ErrBadRequest }

// AppendPreamble appends the 8-byte preamble; status is 0 from a client.
func AppendPreamble(dst []byte, version, status uint16) []byte {
	dst = append(dst, Magic[:]...)
	dst = binary.BigEndian.AppendUint16(dst, version)
	return binary.BigEndian.AppendUint16(dst, status)
}

// ParsePreamble splits an 8-byte preamble; ErrBadPreamble if the magic is wrong.
func ParsePreamble(b []byte) (version, status uint16, err error) {
	if len(b) != PreambleLen || [4]byte(b[:4]) != Magic {
		return 0, 0, fmt.Errorf("parse preamble %x: %w", b, ErrBadPreamble)
	}
	return binary.BigEndian.Uint16(b[4:]), binary.BigEndian.Uint16(b[6:]), nil
}

// ReadFrame reads one length-prefixed frame and returns what follows the
// length (type, id, payload). A length below 5 or above max is ErrBadFrame;
// the stream is then out of step and must be closed.
func ReadFrame(r io.Reader, buf []byte, max int) ([]byte, error) {
	var l [4]byte
	if _, err := io.ReadFull(r, l[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(l[:])
	if n < frameHdrLen || n > uint32(max) {
		return nil, fmt.Errorf("read frame: length %d outside %d..%d: %w", n, frameHdrLen, max, ErrBadFrame)
	}
	if cap(buf) < int(n) {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	if _, err := io.ReadFull(r, buf); err != nil {
		return nil, fmt.Errorf("read frame body: %w", noEOF(err))
	}
	return buf, nil
}

func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// startFrame appends a length placeholder, type and id; endFrame fills the length.
func startFrame(dst []byte, typ uint8, id uint32) ([]byte, int) {
	at := len(dst)
	dst = append(dst, 0, 0, 0, 0, typ)
	return binary.BigEndian.AppendUint32(dst, id), at
}

func endFrame(dst []byte, at int) []byte {
	binary.BigEndian.PutUint32(dst[at:], uint32(len(dst)-at-4))
	return dst
}

// AppendWait appends a WAIT request. timeout is rounded down to whole
// milliseconds and capped at the uint32 range.
func AppendWait(dst []byte, id uint32, off int64, timeout time.Duration) []byte {
	ms := timeout.Milliseconds()
	ms = max(0, min(ms, math.MaxUint32))
	dst, at := startFrame(dst, TypeWait, id)
	dst = binary.BigEndian.AppendUint64(dst, uint64(off))
	dst = binary.BigEndian.AppendUint32(dst, uint32(ms))
	return endFrame(dst, at)
}

// AppendQuery appends a QUERY request.
func AppendQuery(dst []byte, id uint32) []byte {
	dst, at := startFrame(dst, TypeQuery, id)
	return endFrame(dst, at)
}

// AppendQueryExt appends a QUERY_EXT request: a QUERY whose STATUS answer
// carries the trailer (the divergence).
func AppendQueryExt(dst []byte, id uint32) []byte {
	dst, at := startFrame(dst, TypeQueryExt, id)
	return endFrame(dst, at)
}

// AppendWritten appends a WRITTEN hint; the server answers only on error.
func AppendWritten(dst []byte, id uint32, off int64) []byte {
	dst, at := startFrame(dst, TypeWritten, id)
	dst = binary.BigEndian.AppendUint64(dst, uint64(off))
	return endFrame(dst, at)
}

func appendString16(dst []byte, s string, limit int) []byte {
	if len(s) > limit {
		s = s[:limit]
	}
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(s)))
	return append(dst, s...)
}
