package sdnotify

import (
	"context"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
	"go.uber.org/zap"
)

// Watchdog sends WATCHDOG=1 at half systemd's WatchdogSec while Healthy
// returns nil. Build it with NewWatchdog; run it with Run in a goroutine
// the caller owns.
type Watchdog struct {
	log     *zap.Logger
	healthy func() error
	// Interval is the ping period: half of WATCHDOG_USEC, 0 when systemd
	// did not enable the watchdog for this process. Tests may set it.
	Interval time.Duration
}

// NewWatchdog reads the watchdog settings from the environment
// (WATCHDOG_USEC, WATCHDOG_PID). healthy may be nil (always healthy). A
// malformed environment is logged and disables the watchdog.
func NewWatchdog(log *zap.Logger, healthy func() error) *Watchdog {
	if log == nil {
		log = zap.NewNop()
	}
	w := &Watchdog{log: log, healthy: healthy}
	d, err := daemon.SdWatchdogEnabled(false)
	if err != nil {
		log.Warn("systemd watchdog settings invalid; watchdog off", zap.Error(err))
		return w
	}
	w.Interval = d / 2
	return w
}

// Enabled reports whether Run will ping.
func (w *Watchdog) Enabled() bool { return w.Interval > 0 }

// Run pings until ctx ends and returns nil; it returns at once when the
// watchdog is off. While unhealthy it skips pings (systemd will then kill
// and restart the service after WatchdogSec) and publishes the reason as
// STATUS; the first ping after recovery clears it.
func (w *Watchdog) Run(ctx context.Context) error {
	if !w.Enabled() {
		return nil
	}
	w.log.Info("systemd watchdog on", zap.Duration("interval", w.Interval))
	t := time.NewTicker(w.Interval)
	defer t.Stop()
	var failing error
	for {
		failing = w.beat(failing)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// beat does one tick; prev is the previous tick's health error, so that
// transitions are logged once instead of every tick.
func (w *Watchdog) beat(prev error) error {
	var err error
	if w.healthy != nil {
		err = w.healthy()
	}
	switch {
	case err != nil && prev == nil:
		w.log.Error("unhealthy: withholding watchdog pings", zap.Error(err))
		Status(w.log, "unhealthy: "+err.Error())
	case err == nil && prev != nil:
		w.log.Info("healthy again: watchdog pings resumed")
		Status(w.log, "healthy")
	}
	if err == nil {
		send(w.log, daemon.SdNotifyWatchdog)
	}
	return err
}
