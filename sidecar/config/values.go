package config

import (
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/hasidecar/hasidecar/plugins/bytesize"
)

// Bounds. A heartbeat or housekeeping interval below them would make a
// role spin on its timers; a batch above MaxBatch cannot be received by a
// RocketMQ slave (its read buffer is 4 MiB and a frame header is 12 bytes).
const (
	MinHeartbeat    = 100 * time.Millisecond
	MinHousekeeping = time.Second
	MaxBatch        = 4<<20 - 12
	// DefaultSegmentSize is every command's --segment-size default:
	// RocketMQ's mappedFileSizeCommitLog.
	DefaultSegmentSize = 1 << 30
)

// SplitList splits a comma-separated list, dropping empty items.
func SplitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// checkHostPort requires host:port with a numeric port (0 is "any" only
// where zeroOK). An empty host is allowed where emptyHostOK (listen on all
// addresses).
func (c *check) hostPort(name, addr string, emptyHostOK, zeroOK bool) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		c.fail(name, addr, "want host:port")
		return
	}
	if host == "" && !emptyHostOK {
		c.fail(name, addr, "want host:port with a host")
	}
	n, err := strconv.ParseUint(port, 10, 16)
	if err != nil || (n == 0 && !zeroOK) {
		c.fail(name, addr, "port %q: want a number 1-65535", port)
	}
}

// timers checks a role's heartbeat and housekeeping pair.
func (c *check) timers(heartbeat, housekeeping time.Duration) {
	if heartbeat < MinHeartbeat {
		c.fail("heartbeat", heartbeat.String(), "must be at least %v", MinHeartbeat)
	}
	if housekeeping < MinHousekeeping {
		c.fail("housekeeping", housekeeping.String(), "must be at least %v", MinHousekeeping)
	} else if housekeeping <= heartbeat {
		c.fail("housekeeping", housekeeping.String(), "must be longer than heartbeat (%v)", heartbeat)
	}
}

func (c *check) positive(name string, d time.Duration) {
	if d <= 0 {
		c.fail(name, d.String(), "must be positive")
	}
}

func (c *check) atLeast(name string, n, lo int) {
	if n < lo {
		c.fail(name, strconv.Itoa(n), "must be at least %d", lo)
	}
}

func (c *check) required(name, v string) {
	if v == "" {
		c.fail(name, "", "is required")
	}
}

// within reports whether path is dir or inside it (lexically, after
// making both absolute).
func within(path, dir string) bool {
	p, err1 := filepath.Abs(path)
	d, err2 := filepath.Abs(dir)
	if err1 != nil || err2 != nil {
		return false
	}
	rel, err := filepath.Rel(d, p)
	return err == nil && (rel == "." || (rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))))
}

func sizeText(n int64) string { return bytesize.Format(n) }
