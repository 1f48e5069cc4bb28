package applier

import (
	"io"

	"github.com/hasidecar/hasidecar/plugins/fsio"
)

// maxWrite bounds the bytes of one pwritev. Writes of 1 MiB cost up to
// 2.4x more per byte than writes of 128-256 KiB on the machine measured
// (256 MiB into a fresh ext4 file through the page cache: 32 KiB 1.8-2.1
// GiB/s, 128-256 KiB 2.4-2.6, 1 MiB 1.0-2.3), so a large chunk or a
// gathered batch is written in windows of this size.
const maxWrite = 256 << 10

// pwritev writes all of pieces at position pos of f, in windows of at most
// maxWrite bytes, each with pwritev calls until the kernel has taken every
// byte (see writeAll). pieces is left as it was: a failed chunk can be
// applied again from the same slices.
func pwritev(f fsio.File, pieces [][]byte, pos int64) error {
	total := 0
	for _, p := range pieces {
		total += len(p)
	}
	if total <= maxWrite {
		return writeAll(f, pieces, pos, total)
	}
	// advance shortens pieces[0] between windows: work on a copy of the
	// caller's slice headers.
	pieces = append([][]byte(nil), pieces...)
	var win [][]byte
	for len(pieces) > 0 {
		var n int
		win, n = window(win[:0], pieces, maxWrite)
		if err := writeAll(f, win, pos, n); err != nil {
			return err
		}
		pos += int64(n)
		pieces = advance(pieces, n)
	}
	return nil
}

// window appends to dst the first pieces up to limit bytes (the last one
// cut short when it would pass limit) and returns them with their size.
func window(dst, pieces [][]byte, limit int) ([][]byte, int) {
	n := 0
	for _, p := range pieces {
		if n+len(p) > limit {
			p = p[:limit-n]
		}
		dst = append(dst, p)
		if n += len(p); n == limit {
			break
		}
	}
	return dst, n
}

// writeAll writes the left bytes of pieces at pos, calling WriteV (one
// pwritev each) until the kernel has taken every byte: a short count is
// followed by a write of the rest, and a zero count is io.ErrShortWrite, so
// the caller never takes a partial write for a whole one.
func writeAll(f fsio.File, pieces [][]byte, pos int64, left int) error {
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
