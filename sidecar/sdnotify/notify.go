package sdnotify

import (
	"strings"

	"github.com/coreos/go-systemd/v22/daemon"
	"go.uber.org/zap"
)

// Ready tells systemd that startup finished (READY=1), with a status line.
// Call it once the sidecar serves: the master after it listens, the slave
// after its recovery. Call it again after a reload.
func Ready(log *zap.Logger) { send(log, daemon.SdNotifyReady) }

// Stopping tells systemd that shutdown started (STOPPING=1).
func Stopping(log *zap.Logger) { send(log, daemon.SdNotifyStopping) }

// Reloading tells systemd that a configuration reload started; systemd
// requires the monotonic timestamp with it. Send Ready when it is done.
func Reloading(log *zap.Logger) {
	send(log, daemon.SdNotifyReloading+"\n"+strings.TrimSpace(daemon.SdNotifyMonotonicUsec()))
}

// Status sets the one-line status systemctl shows (STATUS=text). Newlines
// would start a new KEY=VALUE assignment, so they become spaces.
func Status(log *zap.Logger, text string) {
	send(log, "STATUS="+strings.ReplaceAll(text, "\n", " "))
}

// send delivers one datagram. go-systemd returns (false, nil) when
// NOTIFY_SOCKET is unset: that is the silent no-op case.
func send(log *zap.Logger, state string) bool {
	sent, err := daemon.SdNotify(false, state)
	if err != nil {
		if log != nil {
			log.Warn("sd_notify failed", zap.String("state", state), zap.Error(err))
		}
		return false
	}
	return sent
}
