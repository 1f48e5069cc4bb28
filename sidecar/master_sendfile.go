package sidecar

import (
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/hasidecar/hasidecar/sidecar/haproto"
	"github.com/hasidecar/hasidecar/tailer"
)

// ZeroCopyEnv, set to 1, makes a master send frame bodies over plain TCP
// with vmsplice and splice instead of writev (CI runs the suite once on
// each path). It is off by default: on the machine the project measures
// on, the zero-copy path was slower (0.44-0.46 of the raw copy against
// 0.50-0.55 for writev, `hasidecar bench --only catchup`) and cost more
// CPU (2.2 against 1.75-1.95 CPU-s/GiB), and its pages leave the page
// cache later than a writev's copy, which widens the window in which a
// rewrite in place of the published bytes reaches the wire.
const ZeroCopyEnv = "HASIDECAR_ZEROCOPY"

// splicePipeSize is the pipe capacity asked for: one splice into the
// socket then carries up to this much (1 MiB is the unprivileged maximum
// of fs.pipe-max-size by default; a smaller pipe only costs more calls).
const splicePipeSize = 1 << 20

// splicer sends frames over a plain TCP connection without copying their
// bodies: each header is written into a pipe (a 12-byte copy), each body
// is vmspliced into it from the tailer's read-only mapping of the segment
// (the pipe references the page-cache pages, no copy), and the pipe is
// spliced into the socket. Headers and bodies enter the pipe in stream
// order, so the socket gets them in that order. The pages are the ones
// of the file the tailer mapped and published from, never a file renamed
// over its name since; like a writev from the same mapping, they carry
// the file's bytes as they are when the socket hands them on, so a rewrite
// in place is caught by the tailer's divergence check (see the report of
// issue 14 and onDiverge: the sent offset moves before the bytes leave).
// Only the sender goroutine uses a splicer.
type splicer struct {
	rc     syscall.RawConn
	pr, pw int // the pipe's read and write ends, both non-blocking
	queued int // bytes in the pipe, not yet in the socket
	iov    [1]unix.Iovec
}

// newSplicer returns a splicer for conn, or nil when conn is not plain TCP
// (TLS must encrypt in user space), ZeroCopyEnv is not 1, or the kernel
// refuses a pipe (the writev path is used then).
func newSplicer(conn net.Conn) (*splicer, error) {
	if bc, ok := conn.(*bufferedConn); ok {
		conn = bc.Conn
	}
	tc, ok := conn.(*net.TCPConn)
	if !ok || os.Getenv(ZeroCopyEnv) != "1" {
		return nil, nil
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return nil, fmt.Errorf("zero-copy send: raw connection: %w", err)
	}
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_NONBLOCK|unix.O_CLOEXEC); err != nil {
		return nil, fmt.Errorf("zero-copy send: pipe: %w", err)
	}
	// A refused size (the user's pipe quota) keeps the default 64 KiB.
	_, _ = unix.FcntlInt(uintptr(p[1]), unix.F_SETPIPE_SZ, splicePipeSize)
	return &splicer{rc: rc, pr: p[0], pw: p[1]}, nil
}

// close releases the pipe.
func (s *splicer) close() {
	unix.Close(s.pr)
	unix.Close(s.pw)
}

// writeFrames sends each chunk as a frame whose header is the matching
// haproto.HeaderSize bytes of hdrs, and returns once the socket took all
// of them. On an error the pipe may hold unsent bytes: the connection must
// be dropped (the caller does).
func (s *splicer) writeFrames(hdrs []byte, chunks []tailer.Chunk) error {
	for i, ch := range chunks {
		if err := s.put(hdrs[i*haproto.HeaderSize:(i+1)*haproto.HeaderSize], false); err != nil {
			return err
		}
		if err := s.put(ch.Data, true); err != nil {
			return err
		}
	}
	return s.drain()
}

// put moves p into the pipe, by reference (vmsplice) or by copy (write),
// draining the pipe into the socket whenever it is full. A partial move
// is resumed with the rest.
func (s *splicer) put(p []byte, ref bool) error {
	for len(p) > 0 {
		var n int
		var err error
		if ref {
			s.iov[0].Base = &p[0]
			s.iov[0].SetLen(len(p))
			n, err = unix.Vmsplice(s.pw, s.iov[:], unix.SPLICE_F_NONBLOCK) // the flag, not O_NONBLOCK, keeps vmsplice from blocking
		} else {
			n, err = unix.Write(s.pw, p)
		}
		switch {
		case errors.Is(err, unix.EAGAIN) && s.queued > 0:
			if err := s.drain(); err != nil {
				return err
			}
			continue
		case errors.Is(err, unix.EINTR):
			continue
		case err != nil:
			return fmt.Errorf("zero-copy send: fill pipe (%d bytes queued): %w", s.queued, err)
		case n <= 0:
			return fmt.Errorf("zero-copy send: pipe took nothing of %d bytes: %w", len(p), errShortPipe)
		}
		s.queued += n
		p = p[n:]
	}
	return nil
}

var errShortPipe = errors.New("short pipe write")

// drain splices everything queued in the pipe into the socket, waiting
// for the socket (under its write deadline) when its buffer is full, and
// resuming a partial splice until the pipe is empty.
func (s *splicer) drain() error {
	var serr error
	for s.queued > 0 && serr == nil {
		err := s.rc.Write(func(fd uintptr) bool {
			n, err := unix.Splice(s.pr, nil, int(fd), nil, s.queued, unix.SPLICE_F_MOVE|unix.SPLICE_F_NONBLOCK)
			switch {
			case errors.Is(err, unix.EAGAIN):
				return false // the socket is full: wait until it is writable
			case errors.Is(err, unix.EINTR):
				return true
			case err != nil:
				serr = err
			case n <= 0:
				serr = errShortPipe
			default:
				s.queued -= int(n)
			}
			return true
		})
		if err != nil {
			return fmt.Errorf("zero-copy send (%d bytes queued): %w", s.queued, err)
		}
	}
	if serr != nil {
		return fmt.Errorf("zero-copy send: splice into socket (%d bytes queued): %w", s.queued, serr)
	}
	return nil
}
