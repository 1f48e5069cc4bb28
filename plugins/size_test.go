package plugins

import (
	"errors"
	"testing"
)

func TestParseSize(t *testing.T) {
	good := map[string]int64{
		"1GiB": 1 << 30, "64MiB": 64 << 20, "64m": 64 << 20, "1073741824": 1 << 30,
		"32KiB": 32 << 10, " 2 GiB ": 2 << 30, "1MB": 1000000, "10b": 10,
	}
	for in, want := range good {
		got, err := ParseSize(in)
		if err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "0", "-1", "GiB", "1.5GiB", "12parsecs", "99999999999TiB"} {
		if _, err := ParseSize(in); !errors.Is(err, ErrBadConfig) {
			t.Errorf("ParseSize(%q) error = %v; want ErrBadConfig", in, err)
		}
	}
	if s := FormatSize(64 << 20); s != "64MiB" {
		t.Errorf("FormatSize = %q", s)
	}
}
