// Package role builds and runs the two long-running hasidecar roles, a
// master and a slave, from their typed configuration (package
// sidecar/config), for cmd/hasidecar and for any Go program that embeds
// one: no flags, no environment, no signals.
//
// # Contract
//
//	m, err := role.NewMaster(log, cfg, role.Options{})  // or role.NewSlave
//	err = m.Run(ctx)                                    // until ctx ends
//
// NewMaster and NewSlave validate the configuration (config.Validate: an
// invalid one matches config.ErrInvalid), open the layout (a built-in one,
// or an external plugin process: OpenLayout, OpenLayoutFor), open what the
// role owns on disk and bind its ports, but serve nothing yet: a master's
// Addr is then the HA address actually bound (port 0 picks one), and
// MetricsAddr the metrics one. Run serves until ctx ends (then it returns
// nil) or a part fails, and releases everything on return; a role never run
// is released with Close. A role runs once.
//
// What each assembles: the master, the tailer on its directory, the ack
// tracker, the HA listener (allow-list, mutual TLS), and when configured
// the ack socket, the metadata server and the metrics server (/metrics,
// /healthz from Healthy, /readyz from Ready). The slave: the applier on
// its directory (Reseed moves the old data aside first; a slave without a
// segment size that holds no data takes the master's and reopens), the
// replication loop, and when configured the metadata client and the
// metrics server.
//
// While running: Stats, Ready, Healthy (and a slave's End) answer from any
// goroutine. Reload(next) validates next as a whole and, only if it is
// valid, applies the settings config.MasterReloadable or
// config.SlaveReloadable names (log-level to Options.Level when set); the
// others need a restart and are ignored. A slave's SyncMeta mirrors the
// metadata at once.
//
// Errors: a layout the configuration cannot open, or segment files that
// contradict the configured segment size, match ErrLayout (and the latter
// ErrSizeMismatch): restarting with the same configuration cannot help. A
// slave stopped by the master's refusal (StopOnRefusal) returns an error
// matching sidecar.ErrRefused. Everything else wraps its cause with the
// operation that failed.
//
// What stays with the program: parsing flags, environment and files into
// the configuration, the logger, systemd notifications, signals (SIGHUP
// builds a new configuration and hands it to Reload) and exit codes.
package role
