package main

import (
	"errors"
	"flag"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/hasidecar/hasidecar/plugins"
	"github.com/hasidecar/hasidecar/plugins/builtin"
	"github.com/hasidecar/hasidecar/plugins/bytesize"
	"github.com/hasidecar/hasidecar/sidecar/config"
	"github.com/hasidecar/hasidecar/sidecar/role"
)

// defaultSegmentSize is every command's --segment-size default.
var defaultSegmentSize = bytesize.Format(config.DefaultSegmentSize)

// layoutFlags select the storage layout; master, slave and verify take the
// same ones, and master and slave must agree.
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
	fs.StringVar(&l.segmentSize, "segment-size", defaultSegmentSize,
		"segment size: 1GiB, 64MiB or bytes (rocketmq: taken from the directory's segment files when not given)")
	fs.StringVar(&l.plugin, "layout-plugin", "", "path of an external layout plugin binary (overrides --layout)")
	fs.StringVar(&l.pluginArgs, "layout-plugin-args", "", "space-separated arguments for the layout plugin")
	fs.DurationVar(&l.pluginWait, "layout-plugin-timeout", 5*time.Second, "a layout plugin call taking longer counts as a hang: the plugin is killed and restarted")
	fs.StringVar(&l.messageMagic, "rocketmq-magic", "", "rocketmq: comma-separated message magic codes (default 0xDAA320A7,0xDAA320AB)")
	fs.StringVar(&l.blankMagic, "rocketmq-blank-magic", "", "rocketmq: end-of-segment blank magic code (default 0xCBD43194)")
	fs.BoolVar(&l.skipCRC, "rocketmq-skip-crc", false, "rocketmq: do not check body CRCs when finding the end of data")
}

// build turns the flags into a config.Layout; given says whether
// --segment-size was set anywhere.
func (l *layoutFlags) build(p *fieldErrs, given bool) config.Layout {
	cfg := config.Layout{Name: l.name, SegmentSize: p.size("segment-size", l.segmentSize), SegmentSizeSet: given,
		Plugin: l.plugin, PluginArgs: strings.Fields(l.pluginArgs), PluginTimeout: l.pluginWait, SkipCRC: l.skipCRC}
	var err error
	if cfg.MessageMagic, err = parseMagics(l.messageMagic); err != nil {
		p.add("rocketmq-magic", l.messageMagic, err)
	}
	if l.blankMagic != "" {
		m, err := parseMagics(l.blankMagic)
		if err != nil || len(m) != 1 {
			p.add("rocketmq-blank-magic", l.blankMagic, errors.New("want one 32-bit code"))
		} else {
			cfg.BlankMagic = m[0]
		}
	}
	if l.plugin == "" {
		if !slices.Contains(builtin.Names(), l.name) {
			p.add("layout", l.name, fmt.Errorf("want one of %s", strings.Join(builtin.Names(), ", ")))
		}
	}
	return cfg
}

func parseMagics(s string) ([]uint32, error) {
	if s == "" {
		return nil, nil
	}
	var out []uint32
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.ParseUint(strings.TrimSpace(f), 0, 32)
		if err != nil {
			return nil, fmt.Errorf("magic %q: want a 32-bit code such as 0xDAA320A7", f)
		}
		out = append(out, uint32(v))
	}
	return out, nil
}

// open opens the layout the flags name, for commands without a typed
// configuration (verify).
func (l *layoutFlags) open(log *zap.Logger) (plugins.Layout, func() error, error) {
	var p fieldErrs
	cfg := l.build(&p, true)
	if len(p) > 0 {
		return nil, nil, usageError{fmt.Errorf("--%w", p[0])}
	}
	return role.OpenLayout(log, cfg)
}
