package config

import (
	"time"

	"github.com/hasidecar/hasidecar/applier"
	"github.com/hasidecar/hasidecar/sidecar"
	"github.com/hasidecar/hasidecar/sidecar/haproto"
)

// Slave is the whole configuration of `hasidecar slave`.
type Slave struct {
	Log     Log
	Layout  Layout
	Service Service
	Meta    Meta

	Dir           string // the replica directory; created if missing
	StateDir      string // the checkpoint; never Dir nor inside it
	Master        string // the master's host:port
	Name          string // sent in the hello; "" = the host name
	Classic       bool
	Sync          applier.SyncMode
	SyncInterval  time.Duration // with applier.SyncInterval
	AckAfter      sidecar.AckAfter
	Heartbeat     time.Duration
	Housekeeping  time.Duration
	MaxBackoff    time.Duration
	StopOnRefusal bool
	Reseed        bool
	TLSServerName string
	MetaInterval  time.Duration
	MetaDelete    bool
	// TruncateDiverged cuts a replica the master finds diverged back to
	// the last record boundary below the common point the master names,
	// keeping the cut bytes under StateDir; false refuses, as before.
	TruncateDiverged bool
	// ScrubRate is how many bytes per second the continuous scrub re-reads
	// of the replica's own files; 0 turns it off.
	ScrubRate int64
}

// DefaultScrubRate is the continuous scrub's default read rate, 16 MiB/s.
const DefaultScrubRate = 16 << 20

// MaxScrubRate bounds --scrub-rate (64 GiB/s: beyond any disk).
const MaxScrubRate = 64 << 30

// Validate checks the configuration as a whole, touching nothing; see
// Master.Validate.
func (s *Slave) Validate() error {
	var c check
	s.Log.validate(&c)
	s.Layout.validate(&c)
	s.Service.validate(&c)
	s.Meta.validate(&c)
	c.required("dir", s.Dir)
	if s.Dir != "" && s.StateDir != "" && within(s.StateDir, s.Dir) {
		// The slave's directory holds segments only: a broker is started on
		// it as it is, and a reseed moves its content aside into StateDir.
		c.fail("state-dir", s.StateDir, "must be outside dir (%s)", s.Dir)
	}
	if s.Master == "" {
		c.required("master", s.Master)
	} else {
		c.hostPort("master", s.Master, false, false)
	}
	if s.Name != "" {
		if err := haproto.CheckName(s.Name); err != nil {
			c.fail("name", s.Name, "want 1..%d printable ASCII bytes without spaces", haproto.MaxName)
		}
	}
	c.timers(s.Heartbeat, s.Housekeeping)
	c.positive("max-backoff", s.MaxBackoff)
	c.positive("meta-interval", s.MetaInterval)
	if s.ScrubRate < 0 || s.ScrubRate > MaxScrubRate {
		c.fail("scrub-rate", sizeText(s.ScrubRate), "want 0 (off) .. %s per second", sizeText(MaxScrubRate))
	}
	return c.err()
}

// SlaveReloadable are the settings a SIGHUP applies to a running slave.
var SlaveReloadable = []string{"log-level"}
