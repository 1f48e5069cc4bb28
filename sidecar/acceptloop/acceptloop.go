package acceptloop

import (
	"context"
	"errors"
	"net"
	"syscall"
	"time"

	"go.uber.org/zap"
)

// Default timings; see the package comment.
const (
	DefaultMin      = 5 * time.Millisecond
	DefaultMax      = time.Second
	DefaultLogEvery = 10 * time.Second
)

// Acceptor wraps one listener's Accept. It is used by the one goroutine
// that runs the accept loop; it is not safe for concurrent use.
type Acceptor struct {
	// Min, Max bound the back-off; LogEvery spaces the repeated log lines.
	// Zero means the default. Fields, so a test can shrink them.
	Min, Max, LogEvery time.Duration

	log  *zap.Logger
	ln   net.Listener
	what string // "ack socket", "HA port": names the listener in logs

	delay      time.Duration // current back-off, 0 after a success
	failures   int           // temporary errors since the last success
	unlogged   int           // of those, not logged yet
	lastLogged time.Time
}

// New returns an acceptor for ln; what names the listener in log lines.
func New(log *zap.Logger, ln net.Listener, what string) *Acceptor {
	if log == nil {
		log = zap.NewNop()
	}
	return &Acceptor{log: log, ln: ln, what: what}
}

// Accept returns the next connection; see the package comment.
func (a *Acceptor) Accept(ctx context.Context) (net.Conn, error) {
	for {
		c, err := a.ln.Accept()
		if err == nil {
			a.recovered()
			return c, nil
		}
		exhausted, ok := Temporary(err)
		if !ok || ctx.Err() != nil {
			return nil, err
		}
		d := a.next()
		a.note(err, exhausted, d)
		if !sleep(ctx, d) {
			return nil, err
		}
	}
}

// Temporary reports whether err is one of the errnos after which accept
// may succeed later, and names what was exhausted ("" for ECONNABORTED).
func Temporary(err error) (exhausted string, ok bool) {
	switch {
	case errors.Is(err, syscall.EMFILE):
		return "file descriptors of the process (RLIMIT_NOFILE)", true
	case errors.Is(err, syscall.ENFILE):
		return "file descriptors of the host (fs.file-max)", true
	case errors.Is(err, syscall.ENOBUFS):
		return "kernel socket buffers", true
	case errors.Is(err, syscall.ENOMEM):
		return "kernel memory", true
	case errors.Is(err, syscall.ECONNABORTED):
		return "", true
	}
	return "", false
}

func (a *Acceptor) next() time.Duration {
	lo, hi := or(a.Min, DefaultMin), or(a.Max, DefaultMax)
	if a.delay == 0 {
		a.delay = lo
	} else {
		a.delay = min(a.delay*2, hi)
	}
	return a.delay
}

// note logs the first failure of a run at once, then at most every LogEvery.
func (a *Acceptor) note(err error, exhausted string, retry time.Duration) {
	a.failures++
	a.unlogged++
	now := time.Now()
	if a.failures > 1 && now.Sub(a.lastLogged) < or(a.LogEvery, DefaultLogEvery) {
		return
	}
	fields := []zap.Field{zap.String("listener", a.what), zap.Error(err),
		zap.Duration("retry_in", retry), zap.Int("failures_not_logged", a.unlogged-1)}
	if exhausted == "" {
		a.log.Warn("accept failed: connection aborted before it was accepted; retrying", fields...)
	} else {
		a.log.Error("accept failed: out of "+exhausted+"; still serving open connections, retrying",
			append(fields, zap.String("exhausted", exhausted))...)
	}
	a.unlogged = 0
	a.lastLogged = now
}

func (a *Acceptor) recovered() {
	if a.failures > 0 {
		a.log.Info("accept recovered", zap.String("listener", a.what), zap.Int("failures", a.failures))
	}
	a.delay, a.failures, a.unlogged = 0, 0, 0
}

func or(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// sleep waits d or until ctx ends; it reports whether the wait completed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
