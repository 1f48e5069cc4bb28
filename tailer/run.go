package tailer

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
	"go.uber.org/zap"

	"github.com/hasidecar/hasidecar/plugins"
)

// loopState is everything only the Run goroutine touches.
type loopState struct {
	watcher    *fsnotify.Watcher // nil when fsnotify is unavailable: polling alone still works
	watching   bool              // the directory itself is watched
	listNeeded bool              // a full directory listing is due
	anchored   bool              // End has been placed on a segment at least once
	removed    map[int64]bool    // starts of segments seen deleted, to spot reappearing ones
	pinned     *segment          // the segment End is in: mapped, its descriptor open
	lastFstat  time.Time         // when the pinned descriptor was last fstat'ed
	statAll    bool              // the next listing checks every segment's file (events were lost)
	scanDue    bool              // the next poll calls Layout.Scan even if the mapping shows nothing new
	ticks      int               // rescan ticks, for the slower full listing
	idCheck    map[int64]bool    // segments an event says were created or renamed over
	warned     map[string]bool   // names already warned about (misaligned, duplicate)
	cur        cursor
	limit      limiter
	dig        digest    // what was published of the live segment, to locate a rewrite
	checks     limiter   // bounds how often the published bytes are re-hashed
	stuckSince time.Time // when bytes after End that do not validate were first seen
	suspect    bool      // a published record changed: check the digest
	scrubNext  int       // the next digest block scrubFound re-hashes
	// sealedBelow is the start of the newest segment found started by the
	// writer (-1: none yet): every segment below it is sealed. probeDue
	// allows sealedLimit to probe the newest segments again.
	sealedBelow int64
	probeDue    bool
}

// cursor is the scan position inside the segment that holds End.
type cursor struct {
	start  int64 // the segment's start
	stable int64 // the last Scan.Stable: a record boundary, where the next Scan starts
	pend   pending
	last   lastScan // the last Scan's result, reused while the mapping shows nothing new
}

// pending is the last record [lo, hi) seen in an earlier poll and its
// checksum, for the settle rule.
type pending struct {
	lo, hi int64
	sum    uint32
	since  time.Time
}

// maxHops bounds how many sealed segments one step walks through, so a long
// catch-up still lets events and ctx through.
const maxHops = 64

// Run is the tailer's only goroutine: it watches and polls the directory and
// publishes State until ctx ends, then releases its mappings (outstanding
// Chunks keep theirs until Release) and returns nil. It returns an error at
// once only when it cannot work at all (invalid layout, second call).
func (t *Tailer) Run(ctx context.Context) error {
	if !t.started.CompareAndSwap(false, true) {
		return fmt.Errorf("run tailer on %s twice: %w", t.dir, errClosed)
	}
	if t.layout == nil {
		return fmt.Errorf("run tailer on %s: no layout: %w", t.dir, plugins.ErrBadConfig)
	}
	if err := t.info.Check(); err != nil {
		return fmt.Errorf("run tailer on %s: %w", t.dir, err)
	}
	t.loop = loopState{
		listNeeded:  true,
		removed:     make(map[int64]bool),
		idCheck:     make(map[int64]bool),
		warned:      make(map[string]bool),
		limit:       limiter{every: 10 * time.Second, last: make(map[string]time.Time)},
		checks:      limiter{every: time.Second, last: make(map[string]time.Time)},
		dig:         digest{start: -1},
		sealedBelow: -1,
		probeDue:    true,
	}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		t.log.Warn("fsnotify unavailable, polling only", zap.String("path", t.dir), zap.Error(err))
	} else {
		t.loop.watcher = w
	}
	defer t.shutdown()
	t.loopRun(ctx)
	return nil
}

// loopRun steps, then sleeps for the adaptive poll interval or until an
// event, a hint or the rescan deadline arrives. The rescan shares the poll's
// timer (a deadline, not a ticker of its own), so an idle tailer wakes once
// per PollMax, not once more per Rescan.
func (t *Tailer) loopRun(ctx context.Context) {
	poll := t.opts.PollMin
	timer := time.NewTimer(0)
	defer timer.Stop()
	nextRescan := time.Now().Add(t.opts.Rescan)
	bump := true
	for {
		now := time.Now()
		if !now.Before(nextRescan) {
			t.onRescan()
			nextRescan = now.Add(t.opts.Rescan)
		}
		active, due := t.step(now)
		switch {
		case active || bump:
			poll = t.opts.PollMin
		default:
			poll = min(2*poll, t.opts.PollMax)
		}
		wait := min(poll, time.Until(nextRescan))
		if due > 0 && due < wait {
			wait = due
		}
		var ok bool
		if bump, ok = t.await(ctx, timer, now, now.Add(wait)); !ok {
			return
		}
	}
}

// await sleeps until deadline, a hint, or an fsnotify event that matters,
// and reports whether activity (not the timer) ended the sleep; ok is
// false once ctx is done. A Write event alone does not end it sooner than
// PollMin after the last step (at stepped): a write(2) appender raises an
// event per write, and its steady stream then costs one step per PollMin,
// as a mmap writer's does, instead of one per write. A hint, and an event
// that needs a listing or an identity check, end it at once.
func (t *Tailer) await(ctx context.Context, timer *time.Timer, stepped, deadline time.Time) (bump, ok bool) {
	timer.Reset(time.Until(deadline))
	for {
		evC, errC := t.watchChans()
		select {
		case <-ctx.Done():
			return false, false
		case <-timer.C:
			return bump, true
		case <-t.wake:
			return true, true
		case ev, open := <-evC:
			if !t.onEvent(ev, open) && !t.drainEvents() {
				continue // foreign files never wake the tail
			}
			bump = true
			if t.loop.listNeeded || len(t.loop.idCheck) > 0 {
				return true, true
			}
			if next := stepped.Add(t.opts.PollMin); next.Before(deadline) {
				deadline = next
				timer.Reset(time.Until(deadline))
			}
			if !time.Now().Before(deadline) {
				return true, true
			}
		case err, open := <-errC:
			t.onWatchError(err, open)
			return bump, true
		}
	}
}

// step runs one listing (when due) and one scan of the live tail. It
// reports whether anything moved and, when a record is settling, how soon
// it wants to look again.
func (t *Tailer) step(now time.Time) (active bool, due time.Duration) {
	t.wakes.Add(1)
	t.ensureWatch()
	if t.loop.listNeeded {
		t.list()
	}
	if !t.state.DirExists {
		return false, 0
	}
	for start := range t.loop.idCheck {
		delete(t.loop.idCheck, start)
		if s := t.segs[start]; s != nil {
			t.checkIdentity(s)
		}
	}
	t.housekeep(now)
	return t.tail(now)
}

// fullListEvery is how many rescan ticks pass between full directory
// listings while fsnotify reports the directory's changes: the listing is
// then only the net under lost events, and its cost grows with the number
// of segments.
const fullListEvery = 30

// onRescan is the periodic safety net. Each tick the live segment's path
// is stat'ed (a file renamed over it) and the next poll calls Layout.Scan
// whatever the mapping shows; the directory is listed each tick without
// fsnotify, else every fullListEvery ticks. No sealed segment is touched.
func (t *Tailer) onRescan() {
	t.loop.ticks++
	if p := t.loop.pinned; p != nil {
		p.pathDue = true
	}
	t.loop.scanDue = true
	if t.loop.watcher == nil || !t.loop.watching || t.loop.ticks%fullListEvery == 0 {
		t.loop.listNeeded = true
	}
}

func (t *Tailer) watchChans() (chan fsnotify.Event, chan error) {
	if t.loop.watcher == nil {
		return nil, nil
	}
	return t.loop.watcher.Events, t.loop.watcher.Errors
}

// ensureWatch starts watching the directory once it exists. A directory
// that appears after a failed Add is caught by the next step's poll.
func (t *Tailer) ensureWatch() {
	w := t.loop.watcher
	if w == nil || t.loop.watching {
		return
	}
	if err := w.Add(t.dir); err != nil {
		return // missing: the listing reports it; polled again next step
	}
	t.loop.watching = true
	t.loop.listNeeded = true // files created before the watch started
	t.log.Debug("watching directory", zap.String("path", t.dir))
}

// onEvent classifies one fsnotify event; it returns true when the tail
// should be polled soon.
func (t *Tailer) onEvent(ev fsnotify.Event, ok bool) bool {
	if !ok {
		t.loop.watcher = nil // closed under us; polling continues
		return false
	}
	if filepath.Clean(ev.Name) == filepath.Clean(t.dir) {
		t.loop.listNeeded = true // the directory itself was removed or renamed
		return true
	}
	start, isSeg := t.layout.ParseName(filepath.Base(ev.Name))
	if !isSeg {
		return false // foreign files never wake the tail
	}
	if ev.Has(fsnotify.Create) || ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename) {
		t.loop.listNeeded = true
	}
	if ev.Has(fsnotify.Create) && t.segs[start] != nil {
		t.loop.idCheck[start] = true // a file created or renamed over a known segment
	}
	return true
}

// drainEvents consumes the events already queued, so a write(2) appender's
// burst costs one step, not one per write.
func (t *Tailer) drainEvents() bool {
	bump := false
	for i := 0; i < 1024 && t.loop.watcher != nil; i++ {
		select {
		case ev, ok := <-t.loop.watcher.Events:
			bump = t.onEvent(ev, ok) || bump
		default:
			return bump
		}
	}
	return bump
}

func (t *Tailer) onWatchError(err error, ok bool) {
	if !ok {
		t.loop.watcher = nil
		return
	}
	t.loop.listNeeded = true // any lost event is recovered by a full listing
	t.loop.statAll = true    // which may have replaced any segment's file
	if errors.Is(err, fsnotify.ErrEventOverflow) {
		t.log.Warn("fsnotify queue overflow, rescanning", zap.String("path", t.dir))
		return
	}
	if t.loop.limit.allow("watch") {
		t.log.Warn("fsnotify error", zap.String("path", t.dir), zap.Error(err))
	}
}

// shutdown releases every mapping the tailer holds and wakes all waiters.
func (t *Tailer) shutdown() {
	if p := t.loop.pinned; p != nil {
		t.closeFile(p)
		t.loop.pinned = nil
	}
	t.lz.closeAll()
	t.mu.Lock()
	t.closed = true
	for start, s := range t.segs {
		if s.m != nil {
			s.m.release()
		}
		delete(t.segs, start)
	}
	close(t.changed)
	t.mu.Unlock()
	if w := t.loop.watcher; w != nil {
		if err := w.Close(); err != nil {
			t.log.Warn("close fsnotify watcher", zap.String("path", t.dir), zap.Error(err))
		}
	}
}

// limiter rate-limits repeated log lines by key (loop-only).
type limiter struct {
	every time.Duration
	last  map[string]time.Time
}

func (l *limiter) allow(key string) bool {
	now := time.Now()
	if last, ok := l.last[key]; ok && now.Sub(last) < l.every {
		return false
	}
	l.last[key] = now
	return true
}
