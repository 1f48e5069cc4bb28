package config

import (
	"time"
)

// Log is the logging of a long-running role.
type Log struct {
	Level  string // debug, info, warn, error
	Format string // console or json
}

func (l Log) validate(c *check) {
	switch l.Level {
	case "debug", "info", "warn", "error", "dpanic", "panic", "fatal":
	default:
		c.fail("log-level", l.Level, "want debug, info, warn or error")
	}
	if l.Format != "console" && l.Format != "json" {
		c.fail("log-format", l.Format, "want console or json")
	}
}

// Layout selects the storage layout master and slave must agree on.
type Layout struct {
	Name string // a built-in layout; ignored when Plugin is set
	// SegmentSize is the segment size. SegmentSizeSet says it was given
	// (flag, environment or file): without it a command may take the size
	// of the segment files already in its directory.
	SegmentSize    int64
	SegmentSizeSet bool
	Plugin         string   // external layout plugin binary ("" for none)
	PluginArgs     []string // its arguments
	PluginTimeout  time.Duration
	MessageMagic   []uint32 // rocketmq: accepted message magics (nil: RocketMQ's)
	BlankMagic     uint32   // rocketmq: end-of-segment magic (0: RocketMQ's)
	SkipCRC        bool
}

func (l Layout) validate(c *check) {
	if l.SegmentSize <= 0 {
		c.fail("segment-size", sizeText(l.SegmentSize), "must be positive")
	}
	c.positive("layout-plugin-timeout", l.PluginTimeout)
	if l.Plugin == "" && l.Name == "" {
		c.fail("layout", "", "is required")
	}
}

// Service is what both roles share as services: metrics and TLS.
type Service struct {
	MetricsListen string // "" for off
	TLSCert       string
	TLSKey        string
	TLSCA         string
}

// TLS reports whether mutual TLS is on (all three files given).
func (s Service) TLS() bool { return s.TLSCert != "" && s.TLSKey != "" && s.TLSCA != "" }

func (s Service) validate(c *check) {
	if s.MetricsListen != "" {
		c.hostPort("metrics-listen", s.MetricsListen, true, true)
	}
	set, first := 0, ""
	for i, v := range []string{s.TLSCert, s.TLSKey, s.TLSCA} {
		if v != "" {
			set++
			if first == "" {
				first = []string{"tls-cert", "tls-key", "tls-ca"}[i]
			}
		}
	}
	if set != 0 && set != 3 {
		c.fail(first, "", "--tls-cert, --tls-key and --tls-ca go together")
	}
}

// Meta is the metadata mirror (both roles; off when Dir is "").
type Meta struct {
	Dir         string
	Include     []string // glob patterns, checked by the caller's parser
	MaxFileSize int64
}

func (m Meta) validate(c *check) {
	if m.Dir != "" && len(m.Include) == 0 {
		c.fail("meta-include", "", "names no pattern: nothing would be mirrored")
	}
	if m.MaxFileSize <= 0 {
		c.fail("meta-max-size", sizeText(m.MaxFileSize), "must be positive")
	}
}
