package sidecar

import (
	"net"

	"github.com/hasidecar/hasidecar/sidecar/haproto"
)

// frameBuf reads the master's stream into one large buffer and hands out
// frame bodies as slices of it, so consecutive bodies can be written with
// one pwritev without being copied together. Slices stay valid until the
// next call to need, which may move the unread bytes to the front.
type frameBuf struct {
	conn net.Conn
	buf  []byte
	r, w int // unread bytes are buf[r:w]
}

func newFrameBuf(conn net.Conn, size int) *frameBuf {
	return &frameBuf{conn: conn, buf: make([]byte, size)}
}

// buffered is how many unread bytes are already in memory.
func (f *frameBuf) buffered() int { return f.w - f.r }

// need reads until n unread bytes are buffered.
func (f *frameBuf) need(n int) error {
	for f.w-f.r < n {
		if len(f.buf)-f.r < n {
			f.compact(n)
		}
		m, err := f.conn.Read(f.buf[f.w:])
		f.w += m
		if err != nil && f.w-f.r < n {
			return err
		}
	}
	return nil
}

// compact moves the unread bytes to the front, growing the buffer if n
// bytes would not fit.
func (f *frameBuf) compact(n int) {
	if n > len(f.buf) {
		nb := make([]byte, n)
		f.w = copy(nb, f.buf[f.r:f.w])
		f.buf, f.r = nb, 0
		return
	}
	f.w = copy(f.buf, f.buf[f.r:f.w])
	f.r = 0
}

// take consumes n buffered bytes and returns them.
func (f *frameBuf) take(n int) []byte {
	b := f.buf[f.r : f.r+n : f.r+n]
	f.r += n
	return b
}

// peekHeader decodes the next header if it is buffered, without consuming it.
func (f *frameBuf) peekHeader() (haproto.Header, bool) {
	if f.buffered() < haproto.HeaderSize {
		return haproto.Header{}, false
	}
	h, err := haproto.ParseHeader(f.buf[f.r:f.r+haproto.HeaderSize], haproto.MaxBody)
	return h, err == nil
}
