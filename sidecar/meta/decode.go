package meta

import (
	"encoding/binary"
	"fmt"
)

// decoder walks a payload; the first short read sticks as err.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) take(n int) []byte {
	if d.err != nil {
		return nil
	}
	if len(d.b) < n {
		d.err = fmt.Errorf("payload short: want %d bytes, have %d: %w", n, len(d.b), ErrProtocol)
		return nil
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) u8() uint8 {
	if v := d.take(1); v != nil {
		return v[0]
	}
	return 0
}

func (d *decoder) u32() uint32 {
	if v := d.take(4); v != nil {
		return binary.BigEndian.Uint32(v)
	}
	return 0
}

func (d *decoder) i64() int64 {
	if v := d.take(8); v != nil {
		return int64(binary.BigEndian.Uint64(v))
	}
	return 0
}

func (d *decoder) str8() string { return string(d.take(int(d.u8()))) }

func (d *decoder) sum(dst *[32]byte) { copy(dst[:], d.take(32)) }

func (d *decoder) status() Status {
	s := Status(d.u8())
	if d.err == nil && !s.valid() {
		d.err = fmt.Errorf("status %d: %w", s, ErrProtocol)
	}
	return s
}

// DecodeManifest parses a MANIFEST payload. Every name must be valid and
// names must be strictly increasing, so a listing holds each file once.
func DecodeManifest(p []byte) ([]Entry, error) {
	d := &decoder{b: p}
	n := d.u32()
	if d.err != nil {
		return nil, fmt.Errorf("decode manifest: %w", d.err)
	}
	if n > MaxEntries {
		return nil, fmt.Errorf("decode manifest: %d entries over %d: %w", n, MaxEntries, ErrProtocol)
	}
	entries := make([]Entry, 0, min(int(n), len(p)/52))
	for i := range int(n) {
		e := decodeEntry(d)
		if d.err != nil {
			return nil, fmt.Errorf("decode manifest entry %d: %w", i, d.err)
		}
		if err := ValidName(e.Name); err != nil {
			return nil, fmt.Errorf("decode manifest entry %d: %w: %w", i, err, ErrProtocol)
		}
		if i > 0 && entries[i-1].Name >= e.Name {
			return nil, fmt.Errorf("decode manifest entry %d %q: not sorted: %w", i, e.Name, ErrProtocol)
		}
		entries = append(entries, e)
	}
	if len(d.b) != 0 {
		return nil, fmt.Errorf("decode manifest: %d trailing bytes: %w", len(d.b), ErrProtocol)
	}
	return entries, nil
}

func decodeEntry(d *decoder) Entry {
	var e Entry
	e.Name = d.str8()
	e.Status = d.status()
	e.Size = d.i64()
	e.MtimeNs = d.i64()
	d.sum(&e.Sum)
	e.Reason = d.str8()
	if d.err == nil && e.Size < 0 {
		d.err = fmt.Errorf("size %d: %w", e.Size, ErrProtocol)
	}
	return e
}

// DecodeContent parses a CONTENT payload. Data aliases p.
func DecodeContent(p []byte) (Content, error) {
	d := &decoder{b: p}
	var c Content
	c.Name = d.str8()
	c.Status = d.status()
	c.MtimeNs = d.i64()
	d.sum(&c.Sum)
	c.Reason = d.str8()
	if d.err != nil {
		return Content{}, fmt.Errorf("decode content: %w", d.err)
	}
	if err := ValidName(c.Name); err != nil {
		return Content{}, fmt.Errorf("decode content: %w: %w", err, ErrProtocol)
	}
	c.Data = d.b
	if c.Status != StatusOK && len(c.Data) != 0 {
		return Content{}, fmt.Errorf("decode content %s: status %d with %d data bytes: %w",
			c.Name, c.Status, len(c.Data), ErrProtocol)
	}
	return c, nil
}

// Request is a decoded request frame.
type Request struct {
	Get   bool   // GET; false for LIST
	Name  string // GET: the file
	Limit int64  // GET: the largest content the client accepts, > 0
}

// EncodeGet builds a GET payload.
func EncodeGet(name string, limit int64) []byte {
	return append(putInt64(nil, limit), name...)
}

// DecodeRequest parses a request frame: LIST (empty payload) or GET (limit
// and name).
func DecodeRequest(typ uint8, p []byte) (Request, error) {
	switch typ {
	case typeList:
		if len(p) != 0 {
			return Request{}, fmt.Errorf("decode list: %d payload bytes: %w", len(p), ErrProtocol)
		}
		return Request{}, nil
	case typeGet:
		d := &decoder{b: p}
		r := Request{Get: true, Limit: d.i64(), Name: string(d.b)}
		if d.err != nil || r.Limit <= 0 {
			return Request{}, fmt.Errorf("decode get: limit %d: %w", r.Limit, ErrProtocol)
		}
		if err := ValidName(r.Name); err != nil {
			return Request{}, fmt.Errorf("decode get: %w", err)
		}
		return r, nil
	}
	return Request{}, fmt.Errorf("decode request: type %#x: %w", typ, ErrProtocol)
}
