package haproto

import (
	"encoding/binary"
	"errors"
	"fmt"
)

const (
	// HeaderSize is the size of a data frame header.
	HeaderSize = 12
	// ReportSize is the size of a slave's offset report.
	ReportSize = 8
	// MaxBody is the largest body a RocketMQ slave can receive: its read
	// buffer is 4 MiB and holds the header too.
	MaxBody = 4<<20 - HeaderSize
	// DefaultBatch is RocketMQ's haTransferBatchSize.
	DefaultBatch = 32 << 10
)

var (
	// ErrBadFrame means a frame header the receiver cannot accept.
	ErrBadFrame = errors.New("haproto: bad frame")
	// ErrBadReport means an offset report the master cannot accept.
	ErrBadReport = errors.New("haproto: bad offset report")
	// ErrBadHello means a malformed hello or hello reply.
	ErrBadHello = errors.New("haproto: bad hello")
)

// Header is a data frame header.
type Header struct {
	Offset int64
	Size   int32
}

// PutHeader encodes h into b[:HeaderSize].
func PutHeader(b []byte, h Header) {
	binary.BigEndian.PutUint64(b[0:8], uint64(h.Offset))
	binary.BigEndian.PutUint32(b[8:12], uint32(h.Size))
}

// ParseHeader decodes b[:HeaderSize] and rejects what no honest master
// sends: a negative offset, a negative size, or a body over maxBody. An
// offset whose body would overflow int64 is rejected too.
func ParseHeader(b []byte, maxBody int) (Header, error) {
	if len(b) < HeaderSize {
		return Header{}, fmt.Errorf("header of %d bytes: %w", len(b), ErrBadFrame)
	}
	h := Header{
		Offset: int64(binary.BigEndian.Uint64(b[0:8])),
		Size:   int32(binary.BigEndian.Uint32(b[8:12])),
	}
	switch {
	case h.Offset < 0:
		return h, fmt.Errorf("frame offset %d is negative: %w", h.Offset, ErrBadFrame)
	case h.Size < 0:
		return h, fmt.Errorf("frame size %d is negative: %w", h.Size, ErrBadFrame)
	case int(h.Size) > maxBody:
		return h, fmt.Errorf("frame size %d exceeds the limit %d: %w", h.Size, maxBody, ErrBadFrame)
	case h.Offset > (1<<63-1)-int64(h.Size):
		return h, fmt.Errorf("frame at %d of %d bytes overflows: %w", h.Offset, h.Size, ErrBadFrame)
	}
	return h, nil
}

// PutReport encodes an offset report into b[:ReportSize].
func PutReport(b []byte, off int64) {
	binary.BigEndian.PutUint64(b, uint64(off))
}

// ReportReader reassembles 8-byte reports from a byte stream that may split
// or coalesce them. It is not safe for concurrent use.
type ReportReader struct {
	part [ReportSize]byte
	n    int
}

// Feed consumes p. It returns the last complete report contained in the
// stream so far (including bytes kept from earlier calls) and ok=true if p
// completed at least one report. A partial report is kept for the next call.
func (r *ReportReader) Feed(p []byte) (last int64, ok bool) {
	for len(p) > 0 {
		if r.n == 0 && len(p) >= ReportSize {
			// Fast path: skip straight to the last whole report in p.
			whole := len(p) / ReportSize * ReportSize
			last, ok = int64(binary.BigEndian.Uint64(p[whole-ReportSize:whole])), true
			p = p[whole:]
			continue
		}
		c := copy(r.part[r.n:], p)
		r.n += c
		p = p[c:]
		if r.n == ReportSize {
			last, ok = int64(binary.BigEndian.Uint64(r.part[:])), true
			r.n = 0
		}
	}
	return last, ok
}

// Pending is the number of bytes of an incomplete report held.
func (r *ReportReader) Pending() int { return r.n }
