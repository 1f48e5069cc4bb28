package main

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/hasidecar/hasidecar/sidecar"
	"github.com/hasidecar/hasidecar/sidecar/metrics"
	"github.com/hasidecar/hasidecar/sidecar/role"
)

// refusedError exits with EX_CONFIG (78), which the systemd unit lists in
// RestartPreventExitStatus: restarting cannot fix a refusal.
type refusedError struct{ err error }

func (e refusedError) Error() string { return e.err.Error() }
func (e refusedError) Unwrap() error { return e.err }
func (e refusedError) ExitCode() int { return exConfig }

// exitForRole maps a role's errors onto exit statuses: a layout the
// configuration cannot open, segment files that contradict the segment
// size and a slave the master refused for good are 78.
func exitForRole(err error) error {
	if errors.Is(err, role.ErrLayout) || errors.Is(err, role.ErrSizeMismatch) || errors.Is(err, sidecar.ErrRefused) {
		return refusedError{err}
	}
	return err
}

// roleOptions are what the binary adds to a role: its log level for
// reloads and its build information in the metrics.
func roleOptions(lvl *zap.AtomicLevel) role.Options {
	return role.Options{Level: lvl, Collectors: []prometheus.Collector{metrics.NewBuildInfo(buildInfo())}}
}
