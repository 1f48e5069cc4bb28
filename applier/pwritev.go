package applier

import (
	"errors"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// iovMax is Linux's limit on the pieces of one pwritev.
const iovMax = 1024

// pwritev writes pieces at position pos of f with as few pwritev calls as
// the kernel allows, finishing short writes.
func pwritev(f *os.File, pieces [][]byte, pos int64) error {
	if len(pieces) == 1 {
		_, err := f.WriteAt(pieces[0], pos)
		return err
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	for len(pieces) > 0 {
		var n int
		var werr error
		if err := rc.Write(func(fd uintptr) bool {
			// The kernel takes at most IOV_MAX (1024) pieces a call; the
			// loop writes the rest.
			n, werr = unix.Pwritev(int(fd), pieces[:min(len(pieces), iovMax)], pos)
			return true
		}); err != nil {
			return err
		}
		if errors.Is(werr, unix.EINTR) {
			continue
		}
		if werr != nil {
			return werr
		}
		if n == 0 {
			return io.ErrShortWrite
		}
		pos += int64(n)
		pieces = advance(pieces, n)
	}
	return nil
}

// advance drops the first n bytes of pieces.
func advance(pieces [][]byte, n int) [][]byte {
	for n > 0 && len(pieces) > 0 {
		if n < len(pieces[0]) {
			pieces[0] = pieces[0][n:]
			return pieces
		}
		n -= len(pieces[0])
		pieces = pieces[1:]
	}
	for len(pieces) > 0 && len(pieces[0]) == 0 {
		pieces = pieces[1:]
	}
	return pieces
}
