package ack

import "sync"

const (
	// outHighWater is how many answer bytes may wait for the writer before
	// the connection's reader stops reading requests (backpressure on a
	// client that sends but does not read).
	outHighWater = 256 << 10
	// outKeep is the largest buffer the writer keeps between bursts.
	outKeep = 64 << 10
)

// outQueue is one connection's answers not written yet: encoded frames in
// one byte slice. The tracker appends WAIT answers with its lock held, so
// pushing never blocks; the connection's single writer takes the whole
// buffer at once, so a group commit that wakes many waiters costs one write.
type outQueue struct {
	mu     sync.Mutex
	buf    []byte
	closed bool          // the reader is done: the writer drains and ends
	wake   chan struct{} // cap 1: there is something to write, or closed
	space  chan struct{} // cap 1: the writer took the buffer
}

func newOutQueue() *outQueue {
	return &outQueue{wake: make(chan struct{}, 1), space: make(chan struct{}, 1)}
}

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// push appends one or more frames with enc.
func (q *outQueue) push(enc func([]byte) []byte) {
	q.mu.Lock()
	q.buf = enc(q.buf)
	q.mu.Unlock()
	signal(q.wake)
}

// pushResult is push for a WAIT's answer, without a closure.
func (q *outQueue) pushResult(id uint32, r Result) {
	q.mu.Lock()
	q.buf = AppendResult(q.buf, id, r)
	q.mu.Unlock()
	signal(q.wake)
}

// close tells the writer no more frames come once the buffer is drained.
func (q *outQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	signal(q.wake)
}

// take swaps the pending bytes for spare (which the caller owns no more)
// and returns them; with nothing pending it returns nil and keeps its own
// buffer, done being true when the queue is closed too.
func (q *outQueue) take(spare []byte) (b []byte, done bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.buf) == 0 {
		return nil, q.closed
	}
	b, q.buf = q.buf, spare[:0]
	return b, false
}

// waitSpace blocks while more than outHighWater bytes are pending, until
// the writer takes them or stop is closed.
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
