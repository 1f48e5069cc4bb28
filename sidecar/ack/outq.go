package ack

import (
	"errors"
	"net"
	"sync"
	"syscall"
)

const (
	// outHighWater is how many answer bytes may wait for the writer before
	// the connection's reader stops reading requests (backpressure on a
	// client that sends but does not read).
	outHighWater = 256 << 10
	// outKeep is the largest buffer kept between bursts.
	outKeep = 64 << 10
)

// outQueue is one connection's answers not written yet: encoded frames in
// one byte slice, so a group commit that wakes many waiters costs one
// write. Frames are appended with the tracker's lock held, so appending
// never blocks. Whoever appended then flushes: the goroutine that produced
// the answers (the connection's reader, or the slave's acknowledgement
// reader through the tracker) tries one non-blocking write at once, and
// only what the socket does not take is left to the connection's writer
// goroutine, which blocks. One flusher at a time (writing), and each
// takes the whole buffer, so frames go out in order.
type outQueue struct {
	conn net.Conn
	raw  syscall.RawConn // conn's descriptor for non-blocking writes; nil: always the writer

	mu      sync.Mutex
	buf     []byte
	spare   []byte
	writing bool          // a flusher owns the socket
	failed  bool          // a write failed: the connection is closed, answers are dropped
	closed  bool          // the reader is done: the writer drains and ends
	wake    chan struct{} // cap 1: the writer has something to write, or closed
	space   chan struct{} // cap 1: a flusher took the buffer
}

func newOutQueue(c net.Conn) *outQueue {
	q := &outQueue{conn: c, wake: make(chan struct{}, 1), space: make(chan struct{}, 1)}
	if sc, ok := c.(syscall.Conn); ok {
		if raw, err := sc.SyscallConn(); err == nil {
			q.raw = raw
		}
	}
	return q
}

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// push appends one or more frames with enc; the caller flushes.
func (q *outQueue) push(enc func([]byte) []byte) {
	q.mu.Lock()
	q.buf = enc(q.buf)
	q.mu.Unlock()
}

// pushResult is push for a WAIT's answer, without a closure.
func (q *outQueue) pushResult(id uint32, r Result) {
	q.mu.Lock()
	q.buf = AppendResult(q.buf, id, r)
	q.mu.Unlock()
}

// close tells the writer no more frames come once the buffer is drained.
func (q *outQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	signal(q.wake)
}

// tryFlush writes what is pending without blocking, unless another
// flusher is at it; what the socket does not take now goes to the writer
// goroutine. It never blocks on the client.
func (q *outQueue) tryFlush() {
	if q.raw == nil {
		signal(q.wake)
		return
	}
	q.flush(false)
}

// flush writes what is pending until nothing is, as the one flusher.
// Blocking, it waits for the socket (the writer goroutine); otherwise it
// stops at the first short write and wakes the writer for the rest.
func (q *outQueue) flush(block bool) {
	q.mu.Lock()
	if q.writing {
		q.mu.Unlock()
		return // the flusher takes the buffer again before it lets go
	}
	q.writing = true
	for len(q.buf) > 0 {
		b := q.buf
		q.buf, q.spare = q.spare[:0], nil
		failed := q.failed
		q.mu.Unlock()
		n, err := len(b), error(nil)
		if !failed {
			n, err = q.write(b, block)
		}
		signal(q.space)
		q.mu.Lock()
		if err != nil && !q.failed {
			q.failed = true
			q.conn.Close() // ends the reader, whose close ends the writer
		}
		if n < len(b) && !q.failed {
			q.requeueLocked(b, n) // the socket is full: the writer waits for it
			q.writing = false
			q.mu.Unlock()
			signal(q.wake)
			return
		}
		if cap(b) <= outKeep {
			q.spare = b // a burst's buffer is not kept for good
		}
	}
	q.writing = false
	closed := q.closed
	q.mu.Unlock()
	if closed && !block {
		signal(q.wake) // the writer may be waiting for us to end
	}
}

// requeueLocked puts b[n:], the part not written, before what was
// appended meanwhile.
func (q *outQueue) requeueLocked(b []byte, n int) {
	rest := b[:copy(b, b[n:])]
	q.buf, q.spare = append(rest, q.buf...), q.buf[:0]
}

// write writes b: all of it, blocking; or what the socket takes now, with
// one non-blocking write.
func (q *outQueue) write(b []byte, block bool) (int, error) {
	if block {
		return q.conn.Write(b)
	}
	var n int
	var werr error
	err := q.raw.Write(func(fd uintptr) bool {
		n, werr = syscall.Write(int(fd), b)
		return true // one attempt: the writer goroutine waits, not us
	})
	if errors.Is(werr, syscall.EAGAIN) || errors.Is(werr, syscall.EINTR) {
		n, werr = 0, nil
	}
	if err == nil {
		err = werr
	}
	return max(n, 0), err
}

// drained reports whether the writer may end: closed, nothing pending and
// no flusher at work.
func (q *outQueue) drained() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.closed && len(q.buf) == 0 && !q.writing
}

// waitSpace blocks while more than outHighWater bytes are pending, until
// a flusher takes them or stop is closed.
func (q *outQueue) waitSpace(stop <-chan struct{}) {
	for {
		q.mu.Lock()
		n := len(q.buf)
		q.mu.Unlock()
		if n < outHighWater {
			return
		}
		select {
		case <-q.space:
		case <-stop:
			return
		}
	}
}
