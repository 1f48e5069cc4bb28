package ack

import (
	"encoding/binary"
	"fmt"
	"time"
)

// Response is one decoded server response. Exactly one of Result (OK,
// TIMEOUT, NOT_AVAILABLE), Snapshot (STATUS) or Err (ERROR) is meaningful.
type Response struct {
	Type     uint8
	ID       uint32
	Result   Result
	Snapshot Snapshot
	Err      *ServerError
}

// resultTypes maps a WAIT's status to its response type.
var resultTypes = map[Status]uint8{OK: TypeOK, Timeout: TypeTimeout, NotAvailable: TypeNotAvailable}

// resultStatus is resultTypes backwards, for the types it holds.
func resultStatus(typ uint8) Status {
	for st, t := range resultTypes {
		if t == typ {
			return st
		}
	}
	return OK
}

// AppendResult appends the answer to a WAIT.
func AppendResult(dst []byte, id uint32, r Result) []byte {
	dst, at := startFrame(dst, resultTypes[r.Status], id)
	dst = binary.BigEndian.AppendUint64(dst, uint64(r.Acked))
	if r.Status == NotAvailable {
		dst = appendString16(dst, r.Reason, maxReason)
	}
	return endFrame(dst, at)
}

// AppendError appends an ERROR response.
func AppendError(dst []byte, id uint32, code ErrorCode, reason string) []byte {
	dst, at := startFrame(dst, TypeError, id)
	dst = binary.BigEndian.AppendUint16(dst, uint16(code))
	dst = appendString16(dst, reason, maxReason)
	return endFrame(dst, at)
}

// AppendSnapshot appends the STATUS answer to a QUERY. Beyond 1000 slaves
// and 255-byte ids/addresses the wire truncates.
func AppendSnapshot(dst []byte, id uint32, s Snapshot) []byte {
	dst, at := startFrame(dst, TypeStatus, id)
	dst = appendStatusBody(dst, s)
	return endFrame(dst, at)
}

// AppendSnapshotExt appends the STATUS answer to a QUERY_EXT: the STATUS
// of a QUERY followed by the trailer (doc.go).
func AppendSnapshotExt(dst []byte, id uint32, s Snapshot) []byte {
	dst, at := startFrame(dst, TypeStatus, id)
	dst = appendStatusBody(dst, s)
	lenAt := len(dst)
	dst = append(dst, 0, 0) // trailer_len, filled below
	active := uint8(0)
	since := int64(0)
	if d := s.Divergence; d.Active {
		active, since = 1, d.Since.UnixMilli()
	}
	dst = append(dst, active)
	dst = binary.BigEndian.AppendUint64(dst, uint64(s.Divergence.At))
	dst = binary.BigEndian.AppendUint64(dst, uint64(since))
	dst = appendString16(dst, s.Divergence.Reason, maxReason)
	dst = appendStates(dst, lenAt+2+maxTrailer, s)
	dst = appendProgress(dst, lenAt+2+maxTrailer, s)
	binary.BigEndian.PutUint16(dst[lenAt:], uint16(len(dst)-lenAt-2))
	return endFrame(dst, at)
}

// Bounds of the trailer's state fields: trailer_len is a uint16, so the
// states of as many slaves as fit go, in the slave list's order; the
// others arrive without one (doc.go).
const (
	maxTrailer     = 1<<16 - 1
	maxStateWire   = 32
	maxStateReason = 512
	maxNameWire    = 128
)

// appendStates appends the master's state and each slave's name, state
// and reason, stopping before the trailer would pass limit (an index in
// dst).
func appendStates(dst []byte, limit int, s Snapshot) []byte {
	dst = appendString8(dst, s.MasterState, maxStateWire)
	dst = appendString16(dst, s.MasterReason, maxStateReason)
	countAt := len(dst)
	dst = append(dst, 0, 0) // slave_count, filled below
	n := 0
	for _, sl := range s.Slaves[:min(len(s.Slaves), maxSlaveWire)] {
		entry := appendString8(nil, sl.Name, maxNameWire)
		entry = appendString8(entry, sl.State, maxStateWire)
		entry = appendString16(entry, sl.Reason, maxStateReason)
		if len(dst)+len(entry) > limit {
			break
		}
		dst = append(dst, entry...)
		n++
	}
	binary.BigEndian.PutUint16(dst[countAt:], uint16(n))
	return dst
}

func appendString8(dst []byte, s string, limit int) []byte {
	s = s[:min(len(s), limit, 255)]
	dst = append(dst, uint8(len(s)))
	return append(dst, s...)
}

func appendStatusBody(dst []byte, s Snapshot) []byte {
	for _, v := range []int64{s.MasterEnd, s.Committed, s.FallbehindMax} {
		dst = binary.BigEndian.AppendUint64(dst, uint64(v))
	}
	pol := s.Policy.String()
	dst = append(dst, uint8(len(pol)))
	dst = append(dst, pol...)
	slaves := s.Slaves[:min(len(s.Slaves), maxSlaveWire)]
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(slaves)))
	for _, sl := range slaves {
		dst = appendString16(dst, sl.ID, maxIDWire)
		dst = appendString16(dst, sl.Addr, maxIDWire)
		dst = binary.BigEndian.AppendUint64(dst, uint64(sl.Sent))
		dst = binary.BigEndian.AppendUint64(dst, uint64(sl.Acked))
		dst = binary.BigEndian.AppendUint64(dst, uint64(sl.ConnectedAt.UnixMilli()))
	}
	return dst
}

// DecodeResponse decodes a response frame's body (type, id, payload).
// Malformed input is ErrBadFrame.
func DecodeResponse(b []byte) (Response, error) {
	d := decoder{b: b}
	r := Response{Type: d.u8(), ID: d.u32()}
	switch r.Type {
	case TypeOK, TypeTimeout, TypeNotAvailable:
		st := resultStatus(r.Type)
		r.Result = Result{Status: st, Acked: d.i64()}
		if st == NotAvailable {
			r.Result.Reason = d.str16()
		}
	case TypeError:
		r.Err = &ServerError{Code: ErrorCode(d.u16())}
		r.Err.Reason = d.str16()
	case TypeStatus:
		r.Snapshot = d.snapshot()
	default:
		return Response{}, fmt.Errorf("decode response type 0x%02x: %w", r.Type, ErrBadFrame)
	}
	if d.err != nil || len(d.b) != 0 {
		return Response{}, fmt.Errorf("decode response type 0x%02x id %d: %d bytes left: %w", r.Type, r.ID, len(d.b), ErrBadFrame)
	}
	return r, nil
}

// decoder reads big-endian fields; after the first short read it yields
// zeros and remembers the error, so callers check once at the end.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) take(n int) []byte {
	if d.err != nil || len(d.b) < n {
		d.err = ErrBadFrame
		return make([]byte, n)
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) u8() uint8     { return d.take(1)[0] }
func (d *decoder) u16() uint16   { return binary.BigEndian.Uint16(d.take(2)) }
func (d *decoder) u32() uint32   { return binary.BigEndian.Uint32(d.take(4)) }
func (d *decoder) i64() int64    { return int64(binary.BigEndian.Uint64(d.take(8))) }
func (d *decoder) str16() string { return string(d.take(int(d.u16()))) }

func (d *decoder) snapshot() Snapshot {
	s := Snapshot{MasterEnd: d.i64(), Committed: d.i64(), FallbehindMax: d.i64()}
	pol := string(d.take(int(d.u8())))
	if p, err := ParsePolicy(pol); err == nil {
		s.Policy = p
	} else if d.err == nil {
		d.err = err
	}
	n := int(d.u16())
	s.Slaves = make([]ReplicaStatus, 0, min(n, len(d.b)/30+1))
	for i := 0; i < n && d.err == nil; i++ {
		sl := ReplicaStatus{ID: d.str16(), Addr: d.str16(), Sent: d.i64(), Acked: d.i64()}
		sl.ConnectedAt = time.UnixMilli(d.i64())
		s.Slaves = append(s.Slaves, sl)
	}
	if len(d.b) > 0 && d.err == nil { // the trailer of an answer to QUERY_EXT
		d.trailer(&s)
	}
	return s
}

// trailer reads the STATUS trailer into s. Bytes past the fields known
// here are a later version's and are skipped: trailer_len says how many
// there are. A trailer that ends after the divergence (an older server)
// leaves the states empty.
func (d *decoder) trailer(s *Snapshot) {
	t := decoder{b: d.take(int(d.u16()))}
	var v Divergence
	v.Active = t.u8() == 1
	v.At = t.i64()
	since := t.i64()
	v.Reason = t.str16()
	if v.Active {
		v.Since = time.UnixMilli(since)
	}
	s.Divergence = v
	if len(t.b) > 0 && t.err == nil {
		t.states(s)
	}
	if len(t.b) > 0 && t.err == nil { // progress came after the states (progress_wire.go)
		t.progress(s)
	}
	if t.err != nil && d.err == nil {
		d.err = t.err
	}
}

// states reads the master's state and the slaves' names, states and
// reasons, which follow the slave list's order.
func (d *decoder) states(s *Snapshot) {
	s.MasterState = string(d.take(int(d.u8())))
	s.MasterReason = d.str16()
	n := int(d.u16())
	if n > len(s.Slaves) && d.err == nil {
		d.err = ErrBadFrame // more states than slaves
	}
	for i := 0; i < n && d.err == nil; i++ {
		sl := &s.Slaves[i]
		sl.Name = string(d.take(int(d.u8())))
		sl.State = string(d.take(int(d.u8())))
		sl.Reason = d.str16()
	}
}
