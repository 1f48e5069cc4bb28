package bytesize

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrSyntax means a text is not a byte size.
var ErrSyntax = errors.New("bytesize: not a byte size")

var sizeUnits = []struct {
	suffix string
	mult   int64
}{
	{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30}, {"tib", 1 << 40},
	{"kb", 1000}, {"mb", 1000 * 1000}, {"gb", 1000 * 1000 * 1000},
	{"k", 1 << 10}, {"m", 1 << 20}, {"g", 1 << 30}, {"b", 1},
}

// Parse parses a byte size such as "1GiB", "64MiB", "32k" or "1073741824".
// Binary units (KiB, MiB, GiB, TiB and the short K, M, G) are powers of 1024;
// KB, MB and GB are powers of 1000. Sizes must be positive.
func Parse(s string) (int64, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	mult := int64(1)
	for _, u := range sizeUnits {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("size %q: want a positive number of bytes, optionally with KiB, MiB or GiB: %w", s, ErrSyntax)
	}
	if n > (1<<62)/mult {
		return 0, fmt.Errorf("size %q is too large: %w", s, ErrSyntax)
	}
	return n * mult, nil
}

// Format renders n bytes with the largest binary unit that divides it.
func Format(n int64) string {
	for _, u := range []struct {
		s string
		m int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n >= u.m && n%u.m == 0 {
			return strconv.FormatInt(n/u.m, 10) + u.s
		}
	}
	return strconv.FormatInt(n, 10)
}
