package main

import (
	"flag"
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/hasidecar/hasidecar/plugins"
	"github.com/hasidecar/hasidecar/plugins/builtin"
)

// layoutFlags select the storage layout; master, slave, write and verify
// take the same ones, and master and slave must agree.
type layoutFlags struct {
	name         string
	segmentSize  string
	plugin       string
	pluginArgs   string
	pluginWait   time.Duration
	messageMagic string
	blankMagic   string
	skipCRC      bool
}

func (l *layoutFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&l.name, "layout", "rocketmq", "built-in layout: "+strings.Join(builtin.Names(), ", "))
	fs.StringVar(&l.segmentSize, "segment-size", "1GiB", "segment size: 1GiB, 64MiB or bytes")
	fs.StringVar(&l.plugin, "layout-plugin", "", "path of an external layout plugin binary (overrides --layout)")
	fs.StringVar(&l.pluginArgs, "layout-plugin-args", "", "space-separated arguments for the layout plugin")
	fs.DurationVar(&l.pluginWait, "layout-plugin-timeout", 5*time.Second, "a layout plugin call taking longer counts as a hang: the plugin is killed and restarted")
	fs.StringVar(&l.messageMagic, "rocketmq-magic", "", "rocketmq: comma-separated message magic codes (default 0xDAA320A7,0xDAA320AB)")
	fs.StringVar(&l.blankMagic, "rocketmq-blank-magic", "", "rocketmq: end-of-segment blank magic code (default 0xCBD43194)")
	fs.BoolVar(&l.skipCRC, "rocketmq-skip-crc", false, "rocketmq: do not check body CRCs when finding the end of data")
}

// open returns the layout and a function that stops its plugin, if any.
func (l *layoutFlags) open(log *zap.Logger) (plugins.Layout, func() error, error) {
	size, err := plugins.ParseSize(l.segmentSize)
	if err != nil {
		return nil, nil, usageError{fmt.Errorf("--segment-size: %w", err)}
	}
	if l.plugin != "" {
		return startExternal(log.Named("layout"), l.plugin, strings.Fields(l.pluginArgs), size, l.pluginWait)
	}
	opts := builtin.Options{SegmentSize: size, SkipCRC: l.skipCRC}
	if opts.RocketMQMessageMagic, err = parseMagics(l.messageMagic); err != nil {
		return nil, nil, usageError{fmt.Errorf("--rocketmq-magic: %w", err)}
	}
	if l.blankMagic != "" {
		m, err := parseMagics(l.blankMagic)
		if err != nil || len(m) != 1 {
			return nil, nil, usageError{fmt.Errorf("--rocketmq-blank-magic %q: want one 32-bit code", l.blankMagic)}
		}
		opts.RocketMQBlankMagic = m[0]
	}
	lay, err := builtin.Open(l.name, opts)
	if err != nil {
		return nil, nil, usageError{fmt.Errorf("--layout: %w", err)}
	}
	return lay, func() error { return nil }, nil
}

func parseMagics(s string) ([]uint32, error) {
	if s == "" {
		return nil, nil
	}
	var out []uint32
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.ParseUint(strings.TrimSpace(f), 0, 32)
		if err != nil {
			return nil, fmt.Errorf("magic %q: %w", f, err)
		}
		out = append(out, uint32(v))
	}
	return out, nil
}
