package verify

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
)

const bufSize = 1 << 20 // bounds the memory a comparison uses, whatever the file sizes

// firstDiff returns the first position below limit where files pa and pb
// differ, or -1. A file that ends first differs where it ends; both ending
// at the same position is not a difference.
func firstDiff(pa, pb string, limit int64) (int64, error) {
	fa, err := os.Open(pa)
	if err != nil {
		return 0, fmt.Errorf("open segment: %w", err)
	}
	defer fa.Close()
	fb, err := os.Open(pb)
	if err != nil {
		return 0, fmt.Errorf("open segment: %w", err)
	}
	defer fb.Close()
	ba, bb := make([]byte, bufSize), make([]byte, bufSize)
	for pos := int64(0); pos < limit; {
		n := int(min(bufSize, limit-pos))
		na, err := readFull(fa, pa, ba[:n])
		if err != nil {
			return 0, err
		}
		nb, err := readFull(fb, pb, bb[:n])
		if err != nil {
			return 0, err
		}
		m := min(na, nb)
		if i := firstMismatch(ba[:m], bb[:m]); i >= 0 {
			return pos + int64(i), nil
		}
		if na != nb {
			return pos + int64(m), nil
		}
		if na < n {
			return -1, nil // both files end here
		}
		pos += int64(n)
	}
	return -1, nil
}

// readFull reads up to len(buf) bytes; a short count means the file ended.
func readFull(f *os.File, path string, buf []byte) (int, error) {
	n, err := io.ReadFull(f, buf)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return n, fmt.Errorf("read %s: %w", path, err)
	}
	return n, nil
}

func firstMismatch(a, b []byte) int {
	if bytes.Equal(a, b) {
		return -1
	}
	for i := range a {
		if a[i] != b[i] {
			return i
		}
	}
	return -1
}

// firstNonZero returns the position of the first non-zero byte of file p,
// or -1 when it holds only zeros.
func firstNonZero(p string) (int64, error) {
	f, err := os.Open(p)
	if err != nil {
		return 0, fmt.Errorf("open segment: %w", err)
	}
	defer f.Close()
	buf := make([]byte, bufSize)
	for pos := int64(0); ; {
		n, err := readFull(f, p, buf)
		if err != nil {
			return 0, err
		}
		for i, b := range buf[:n] {
			if b != 0 {
				return pos + int64(i), nil
			}
		}
		if n < len(buf) {
			return -1, nil
		}
		pos += int64(n)
	}
}
