package builtin

import (
	"fmt"
	"strings"

	"github.com/hasidecar/hasidecar/plugins"
	"github.com/hasidecar/hasidecar/plugins/raw"
	"github.com/hasidecar/hasidecar/plugins/rocketmq"
)

// Options configures the built-in layouts. Fields a layout does not use are
// ignored.
type Options struct {
	// SegmentSize is the fixed segment size. rocketmq treats 0 as its
	// default (1 GiB); raw requires a positive size.
	SegmentSize int64
	// RocketMQMessageMagic lists the accepted message magic codes (rocketmq
	// only); empty means RocketMQ's v1 and v2 magics.
	RocketMQMessageMagic []uint32
	// RocketMQBlankMagic is the end-of-segment magic (rocketmq only); 0 means
	// RocketMQ's.
	RocketMQBlankMagic uint32
	// SkipCRC turns off the body CRC check (rocketmq only).
	SkipCRC bool
}

// openers maps each built-in name to its constructor, in Names order.
var openers = []struct {
	name string
	open func(Options) (plugins.Layout, error)
}{
	{raw.Name, openRaw},
	{rocketmq.Name, openRocketMQ},
}

// Names returns the names of the built-in layouts.
func Names() []string {
	names := make([]string, len(openers))
	for i, o := range openers {
		names[i] = o.name
	}
	return names
}

// Open returns the built-in layout called name. An unknown name, or options
// the layout rejects, yield an error wrapping plugins.ErrBadConfig.
func Open(name string, opts Options) (plugins.Layout, error) {
	for _, o := range openers {
		if o.name == name {
			return o.open(opts)
		}
	}
	return nil, fmt.Errorf("open layout %q: unknown, built-in layouts are %s: %w",
		name, strings.Join(Names(), ", "), plugins.ErrBadConfig)
}

func openRaw(opts Options) (plugins.Layout, error) {
	return raw.New(opts.SegmentSize)
}

func openRocketMQ(opts Options) (plugins.Layout, error) {
	return rocketmq.New(rocketmq.Options{
		SegmentSize:  opts.SegmentSize,
		MessageMagic: opts.RocketMQMessageMagic,
		BlankMagic:   opts.RocketMQBlankMagic,
		SkipCRC:      opts.SkipCRC,
	})
}
