package builtin

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/hasidecar/hasidecar/plugins"
)

func TestNames(t *testing.T) {
	if got := Names(); !slices.Equal(got, []string{"raw", "rocketmq"}) {
		t.Fatalf("Names() = %v", got)
	}
}

func TestOpen(t *testing.T) {
	l, err := Open("raw", Options{SegmentSize: 4096})
	if err != nil || l.Info() != (plugins.Info{Name: "raw", SegmentSize: 4096}) {
		t.Fatalf("Open(raw) = %v, %v", l, err)
	}
	l, err = Open("rocketmq", Options{SegmentSize: 1 << 20, RocketMQBlankMagic: 0x12345678})
	if err != nil || l.Info() != (plugins.Info{Name: "rocketmq", SegmentSize: 1 << 20, Preallocated: true}) {
		t.Fatalf("Open(rocketmq) = %v, %v", l, err)
	}
	if _, err := Open("rocketmq", Options{SegmentSize: 1}); !errors.Is(err, plugins.ErrBadConfig) {
		t.Fatalf("Open(rocketmq, tiny) = %v, want ErrBadConfig", err)
	}
	if _, err := Open("raw", Options{}); !errors.Is(err, plugins.ErrBadConfig) {
		t.Fatalf("Open(raw, no size) = %v, want ErrBadConfig", err)
	}
	_, err = Open("nope", Options{SegmentSize: 1})
	if !errors.Is(err, plugins.ErrBadConfig) || !strings.Contains(err.Error(), "raw, rocketmq") {
		t.Fatalf("Open(nope) = %v", err)
	}
}
