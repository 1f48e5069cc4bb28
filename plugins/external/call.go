package external

import (
	"errors"
	"fmt"

	"go.uber.org/zap"

	"github.com/hasidecar/hasidecar/plugins"
	"github.com/hasidecar/hasidecar/plugins/shared"
)

// get returns the live proc, or why there is none.
func (l *Layout) get() (*proc, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.closed:
		return nil, plugins.ErrClosed
	case l.fatal != nil:
		return nil, l.fatal
	case l.cur == nil:
		return nil, fmt.Errorf("plugin %s is restarting: %w", l.opts.Path, ErrUnavailable)
	}
	return l.cur, nil
}

// do runs fn against the live plugin. A layout error (*shared.RemoteError)
// is returned as it is; any other failure marks the plugin dead or hung and
// becomes an error wrapping ErrUnavailable.
func (l *Layout) do(method string, fn func(*shared.LayoutRPC) error) error {
	p, err := l.get()
	if err != nil {
		return err
	}
	if p.client.Exited() {
		err = fmt.Errorf("plugin process exited: %w", shared.ErrTransport)
	} else if err = fn(p.rpc); err == nil {
		p.served.Store(true)
		return nil
	}
	var remote *shared.RemoteError
	if errors.As(err, &remote) {
		p.served.Store(true)
		return err
	}
	l.fail(failure{p: p, hung: errors.Is(err, shared.ErrTimeout), method: method, err: err})
	return fmt.Errorf("plugin %s: %w: %w", l.opts.Path, ErrUnavailable, err)
}

// fail takes p out of service and hands it to the supervisor, once.
func (l *Layout) fail(f failure) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cur != f.p {
		return // already failed through another call, or closed
	}
	l.cur = nil
	l.up = make(chan struct{})
	l.failed <- f // never blocks: only the live proc can fail
}

// waitUp waits until a plugin is live again, or returns why it never will.
func (l *Layout) waitUp() error {
	for {
		l.mu.Lock()
		up, cur, closed, fatal := l.up, l.cur, l.closed, l.fatal
		l.mu.Unlock()
		switch {
		case closed:
			return plugins.ErrClosed
		case fatal != nil:
			return fatal
		case cur != nil:
			return nil
		}
		<-up
	}
}

// Scan implements plugins.Layout.
func (l *Layout) Scan(path string, start, from int64) (plugins.Scan, error) {
	var s plugins.Scan
	err := l.do("Scan", func(r *shared.LayoutRPC) (err error) {
		s, err = r.Scan(path, start, from)
		return err
	})
	if err != nil {
		return plugins.Scan{}, fmt.Errorf("scan %s: %w", path, err)
	}
	return s, nil
}

// IsBoundary implements plugins.Layout.
func (l *Layout) IsBoundary(path string, start, off int64) (bool, error) {
	var ok bool
	err := l.do("IsBoundary", func(r *shared.LayoutRPC) (err error) {
		ok, err = r.IsBoundary(path, start, off)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("is boundary %s at %d: %w", path, off, err)
	}
	return ok, nil
}

// Name is SegmentName with an error: ErrUnavailable while the plugin is
// down, plugins.ErrClosed, ErrInfoChanged. Answers are cached.
func (l *Layout) Name(start int64) (string, error) {
	if name, ok := l.names.name(start); ok {
		return name, nil
	}
	var name string
	err := l.do("SegmentName", func(r *shared.LayoutRPC) (err error) {
		name, err = r.Name(start)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("segment name %d: %w", start, err)
	}
	l.names.putName(start, name)
	return name, nil
}

// Parse is ParseName with an error, like Name. Answers are cached.
func (l *Layout) Parse(name string) (int64, bool, error) {
	if e, ok := l.names.parse(name); ok {
		return e.start, e.ok, nil
	}
	var e parsed
	err := l.do("ParseName", func(r *shared.LayoutRPC) (err error) {
		e.start, e.ok, err = r.Parse(name)
		return err
	})
	if err != nil {
		return 0, false, fmt.Errorf("parse name %q: %w", name, err)
	}
	l.names.putParse(name, e)
	return e.start, e.ok, nil
}

// SegmentName implements plugins.Layout. It waits through a restart (see the
// package doc) and returns "" only once the layout is closed or refused.
func (l *Layout) SegmentName(start int64) string {
	for {
		name, err := l.Name(start)
		if err == nil {
			return name
		}
		if werr := l.waitUp(); werr != nil {
			l.log.Error("layout plugin cannot name a segment", zap.String("path", l.opts.Path),
				zap.Int64("segment_offset", start), zap.Error(werr))
			return ""
		}
	}
}

// ParseName implements plugins.Layout, waiting through a restart like
// SegmentName; false once the layout is closed or refused.
func (l *Layout) ParseName(name string) (int64, bool) {
	for {
		start, ok, err := l.Parse(name)
		if err == nil {
			return start, ok
		}
		if werr := l.waitUp(); werr != nil {
			l.log.Error("layout plugin cannot parse a name", zap.String("path", l.opts.Path),
				zap.String("name", name), zap.Error(werr))
			return 0, false
		}
	}
}
