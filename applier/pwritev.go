package applier

import (
	"io"

	"github.com/hasidecar/hasidecar/plugins/fsio"
)

// pwritev writes all of pieces at position pos of f, calling WriteV (one
// pwritev each) until the kernel has taken every byte: a short count is
// followed by a write of the rest, and a zero count is io.ErrShortWrite, so
// the caller never takes a partial write for a whole one. pieces is left as
// it was: a failed chunk can be applied again from the same slices.
func pwritev(f fsio.File, pieces [][]byte, pos int64) error {
	left := 0
	for _, p := range pieces {
		left += len(p)
	}
	for copied := false; left > 0; {
		n, err := fsio.WriteV(f, pieces, pos)
		if err != nil {
			return err
		}
		if n <= 0 {
			return io.ErrShortWrite
		}
		if left -= n; left <= 0 {
			return nil
		}
		if !copied {
			// advance shortens pieces[0]: work on a copy of the caller's
			// slice headers, made only when a write came back short.
			pieces, copied = append([][]byte(nil), pieces...), true
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

// writeAt is WriteAt that also refuses a short count without an error,
// which io.WriterAt forbids but a wrapper might return.
func writeAt(f io.WriterAt, p []byte, off int64) error {
	n, err := f.WriteAt(p, off)
	if err == nil && n < len(p) {
		err = io.ErrShortWrite
	}
	return err
}
