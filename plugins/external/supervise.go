package external

import (
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/hasidecar/hasidecar/plugins"
)

// supervise reaps each failed plugin and restarts it, until Close.
func (l *Layout) supervise() {
	defer l.wg.Done()
	failures := 0
	for {
		select {
		case <-l.ctx.Done():
			return
		case f := <-l.failed:
			if f.p.served.Load() {
				failures = 0 // it was healthy: start the back-off over
			}
			failures++
			l.reap(f)
			l.restart(failures)
		}
	}
}

// reap kills a failed plugin and says clearly what happened.
func (l *Layout) reap(f failure) {
	status := l.kill(f.p)
	fields := []zap.Field{zap.String("path", l.opts.Path), zap.Int("pid", f.p.pid),
		zap.String("exit_status", status), zap.String("method", f.method), zap.Error(f.err)}
	if f.hung {
		l.log.Error("layout plugin hung; killed it", append(fields, zap.Duration("call_timeout", l.opts.CallTimeout))...)
		return
	}
	l.log.Error("layout plugin crashed", fields...)
}

// backoff is the delay before restart attempt n (1-based).
func (l *Layout) backoff(n int) time.Duration {
	d := l.opts.MinBackoff
	for i := 1; i < n && d < l.opts.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, l.opts.MaxBackoff)
}

// restart launches the plugin again with back-off until one incarnation is
// up with the same Info, the Info changed, or the Layout is closed.
func (l *Layout) restart(failures int) {
	for n := failures; ; n++ {
		d := l.backoff(n)
		l.log.Warn("layout plugin restarting", zap.String("path", l.opts.Path), zap.Duration("backoff", d), zap.Int("failures", n))
		t := time.NewTimer(d)
		select {
		case <-l.ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		p, err := l.launch()
		if err == nil {
			var done bool
			if done, err = l.adopt(p); done {
				return
			}
		}
		l.log.Error("layout plugin restart failed", zap.String("path", l.opts.Path), zap.Error(err))
	}
}

// adopt checks a new incarnation's Info and puts it in service. done is
// false when it should be retried (err says why).
func (l *Layout) adopt(p *proc) (done bool, err error) {
	info, err := p.rpc.Describe()
	if err != nil {
		l.kill(p)
		return false, fmt.Errorf("info: %w", err)
	}
	if l.install(p, info) {
		l.log.Info("layout plugin restarted", zap.String("path", l.opts.Path), zap.Int("pid", p.pid))
		return true, nil
	}
	l.kill(p) // closed meanwhile, or refused
	return true, nil
}

// install puts p in service unless the Layout is closed or info differs from
// the first Info, which refuses the plugin for good.
func (l *Layout) install(p *proc, info plugins.Info) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.closed:
		return false
	case info != l.info:
		l.fatal = fmt.Errorf("plugin %s now reports %s, started as %s: %w", l.opts.Path, info, l.info, ErrInfoChanged)
		l.wake()
		l.log.Error("layout plugin changed its layout; refusing it", zap.String("path", l.opts.Path),
			zap.Stringer("layout", l.info), zap.Stringer("new_layout", info))
		return false
	}
	l.cur = p
	l.wake()
	return true
}
