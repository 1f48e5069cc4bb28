// Package sdnotify tells systemd about the sidecar's life cycle through the
// sd_notify protocol (Type=notify units), using go-systemd's daemon package
// for the socket and environment contract.
//
// The protocol: systemd passes the path of a datagram socket in
// NOTIFY_SOCKET (a file path, or "@name" for an abstract socket); the
// service sends newline-separated KEY=VALUE datagrams to it:
//
//	READY=1        startup finished: a master serves, a slave has recovered
//	RELOADING=1    a SIGHUP reload started (with MONOTONIC_USEC=...); READY=1 ends it
//	STOPPING=1     shutdown (the drain) started
//	STATUS=text    one line shown by systemctl status
//	WATCHDOG=1     keep-alive; systemd kills the service when WatchdogSec passes without one
//
// For the watchdog systemd sets WATCHDOG_USEC (and WATCHDOG_PID, which must
// be this process). Watchdog pings at half that interval, and only while its
// health function returns nil: a wedged sidecar stops pinging and systemd
// restarts it (Restart=on-failure).
//
// Without NOTIFY_SOCKET (run by hand, in tests, under another supervisor)
// every function here is a no-op. A failure to send is logged, never
// returned: notification is advisory and must not stop the service.
package sdnotify
