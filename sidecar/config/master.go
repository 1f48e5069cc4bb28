package config

import (
	"os"
	"strconv"
	"time"

	"github.com/hasidecar/hasidecar/sidecar"
	"github.com/hasidecar/hasidecar/sidecar/ack"
	"github.com/hasidecar/hasidecar/tailer"
)

// Master is the whole configuration of `hasidecar master`.
type Master struct {
	Log     Log
	Layout  Layout
	Service Service
	Meta    Meta

	Dir string // the segment directory; may not exist yet
	// StateDir holds the master's lineage (StateDir/lineage); never Dir nor
	// inside it. "" keeps no lineage: the hello compares only the tail and
	// the digest channel answers nothing but info.
	StateDir string
	// StateDirDefaulted says StateDir was not given but derived from Dir:
	// a master that cannot create it then runs without lineage (with a
	// warning) instead of refusing to start, as it did before it had one.
	StateDirDefaulted bool
	Listen            string // HA address host:port
	Batch             int64  // largest frame body, 1..MaxBatch
	Initial           sidecar.InitialRule
	Heartbeat         time.Duration
	Housekeeping      time.Duration
	ReportGrace       time.Duration
	GapLog            time.Duration
	MaxSlaves         int // 0: no limit
	MaxMetaConns      int // 0: no limit
	// MaxDigestConns caps digest-channel connections (verify --online,
	// scrub), counted apart from slaves and metadata; 0: no limit.
	MaxDigestConns int
	// AllowSlaves are the IPs and CIDRs allowed to connect; nil lets every
	// address in. AllowSlavesText is the setting as given: a non-empty text
	// that lists nothing is refused (fail closed), not read as "all".
	AllowSlaves     []string
	AllowSlavesText string
	Tail            tailer.Options

	AckSocket     string // "" for off
	AckSocketMode os.FileMode
	AckMaxConns   int
	AckMaxWaits   int
	AckPolicy     ack.Policy
	FallbehindMax int64
}

// Validate checks the configuration as a whole: every bound and every rule
// between settings. It touches nothing (no file, no socket), so a caller
// runs it before any side effect. The error joins one *FieldError per
// problem.
func (m *Master) Validate() error {
	var c check
	m.Log.validate(&c)
	m.Layout.validate(&c)
	m.Service.validate(&c)
	m.Meta.validate(&c)
	c.required("dir", m.Dir)
	if m.Dir != "" && m.StateDir != "" && within(m.StateDir, m.Dir) {
		// The broker owns dir: a file of ours there would be taken for a
		// segment or trip its own checks.
		c.fail("state-dir", m.StateDir, "must be outside dir (%s)", m.Dir)
	}
	c.hostPort("listen", m.Listen, true, true)
	if m.Batch < 1 || m.Batch > MaxBatch {
		c.fail("batch", sizeText(m.Batch), "must be 1 to 4 MiB - 12 bytes (%d), the largest body a RocketMQ slave can receive", MaxBatch)
	}
	c.timers(m.Heartbeat, m.Housekeeping)
	c.positive("report-grace", m.ReportGrace)
	c.positive("gap-log", m.GapLog)
	c.atLeast("max-slaves", m.MaxSlaves, 0)
	c.atLeast("max-meta-conns", m.MaxMetaConns, 0)
	c.atLeast("max-digest-conns", m.MaxDigestConns, 0)
	if m.AllowSlavesText != "" && len(m.AllowSlaves) == 0 {
		c.fail("allow-slaves", m.AllowSlavesText, "lists no address; leave it empty to allow every slave")
	}
	m.validateTail(&c)
	c.atLeast("ack-max-conns", m.AckMaxConns, 1)
	c.atLeast("ack-max-waits", m.AckMaxWaits, 1)
	if m.FallbehindMax <= 0 {
		c.fail("fallbehind-max", sizeText(m.FallbehindMax), "must be positive")
	}
	if m.AckSocketMode&^0o777 != 0 {
		c.fail("ack-socket-mode", strconv.FormatUint(uint64(m.AckSocketMode), 8), "want permission bits only (at most 0777)")
	}
	return c.err()
}

func (m *Master) validateTail(c *check) {
	c.positive("poll-min", m.Tail.PollMin)
	c.positive("settle", m.Tail.Settle)
	c.positive("rescan", m.Tail.Rescan)
	if m.Tail.PollMax < m.Tail.PollMin {
		c.fail("poll-max", m.Tail.PollMax.String(), "must be at least poll-min (%v)", m.Tail.PollMin)
	}
}

// MasterReloadable are the settings a SIGHUP applies to a running master;
// a change to any other setting needs a restart.
var MasterReloadable = []string{"log-level", "ack-policy", "fallbehind-max", "heartbeat", "housekeeping"}
