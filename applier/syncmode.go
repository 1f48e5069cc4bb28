package applier

import (
	"fmt"
	"strings"
	"time"

	"github.com/hasidecar/hasidecar/plugins/fsio"
)

// SyncMode is when applied bytes are made durable.
type SyncMode int

const (
	// SyncEvery fsyncs the data and the checkpoint before each Apply returns.
	SyncEvery SyncMode = iota
	// SyncInterval syncs from MaybeSync once Interval has passed since the
	// last sync.
	SyncInterval
	// SyncNone syncs only on an explicit Sync or on Close.
	SyncNone
)

// DefaultInterval is the SyncInterval period when Options.Interval is 0.
const DefaultInterval = 100 * time.Millisecond

// DefaultSlowSync is the Options.SlowSync threshold when it is 0.
const DefaultSlowSync = time.Second

// String renders the mode as ParseSync accepts it.
func (m SyncMode) String() string {
	switch m {
	case SyncEvery:
		return "every"
	case SyncInterval:
		return "interval"
	case SyncNone:
		return "none"
	}
	return fmt.Sprintf("SyncMode(%d)", int(m))
}

// ParseSync parses a sync policy: "every", "none", "interval" (the default
// period), or a period written as "100ms" or "interval=100ms".
func ParseSync(s string) (SyncMode, time.Duration, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	switch t {
	case "every":
		return SyncEvery, 0, nil
	case "none":
		return SyncNone, 0, nil
	case "interval":
		return SyncInterval, DefaultInterval, nil
	}
	t = strings.TrimPrefix(t, "interval=")
	d, err := time.ParseDuration(t)
	if err != nil || d <= 0 {
		return 0, 0, fmt.Errorf("parse sync policy %q: want every, none, or a positive period such as 100ms: %w", s, ErrBadOptions)
	}
	return SyncInterval, d, nil
}

// Options configure an Applier.
type Options struct {
	// Sync is the durability policy.
	Sync SyncMode
	// Interval is the SyncInterval period; 0 means DefaultInterval.
	Interval time.Duration
	// SlowSync is how long a sync (data and checkpoint) may take before it
	// is logged as slow; 0 means DefaultSlowSync.
	SlowSync time.Duration
	// FS is the file system the applier works through; nil means the
	// operating system's (fsio.OS). Tests pass a fsiotest.FS.
	FS fsio.FS
}

func (o Options) normalize() (Options, error) {
	if o.Sync < SyncEvery || o.Sync > SyncNone {
		return o, fmt.Errorf("check options: sync mode %d: %w", int(o.Sync), ErrBadOptions)
	}
	if o.Interval < 0 || o.SlowSync < 0 {
		return o, fmt.Errorf("check options: interval %v, slow sync %v: %w", o.Interval, o.SlowSync, ErrBadOptions)
	}
	if o.Interval == 0 {
		o.Interval = DefaultInterval
	}
	if o.SlowSync == 0 {
		o.SlowSync = DefaultSlowSync
	}
	o.FS = fsio.Or(o.FS)
	return o, nil
}
