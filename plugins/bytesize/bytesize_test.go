package bytesize

import (
	"errors"
	"testing"
)

func TestParse(t *testing.T) {
	good := map[string]int64{
		"1GiB": 1 << 30, "64MiB": 64 << 20, "64m": 64 << 20, "1073741824": 1 << 30,
		"32KiB": 32 << 10, " 2 GiB ": 2 << 30, "1MB": 1000000, "10b": 10,
	}
	for in, want := range good {
		got, err := Parse(in)
		if err != nil || got != want {
			t.Errorf("Parse(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "0", "-1", "GiB", "1.5GiB", "12parsecs", "99999999999TiB"} {
		if _, err := Parse(in); !errors.Is(err, ErrSyntax) {
			t.Errorf("Parse(%q) error = %v; want ErrSyntax", in, err)
		}
	}
	if s := Format(64 << 20); s != "64MiB" {
		t.Errorf("FormatSize = %q", s)
	}
}
