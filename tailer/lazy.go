package tailer

import (
	"errors"
	"io/fs"
	"sync"
	"time"

	"go.uber.org/zap"
)

// lazyCache holds the mappings of sealed segments that Reads asked for.
// A sealed segment is mapped on demand; the mapping is kept (one cache
// reference) while it is read, at most lingerMaps of them and each for
// lingerFor after its last Read, so a sender reading it chunk by chunk
// does not map and unmap per chunk. Chunks hold their own references, so
// an evicted mapping lives until the last of them is released. Nothing
// stays mapped for a segment nobody reads.
type lazyCache struct {
	mu    sync.Mutex
	maps  map[int64]*lazyEntry // by segment start
	short map[int64]int64      // segments a Read found shorter than End: bytes mapped
	check map[int64]bool       // segments a Read found to be another file: for the loop
}

type lazyEntry struct {
	m    *mapping
	used time.Time
}

const (
	lingerMaps = 8
	lingerFor  = 2 * time.Second
)

func newLazyCache() lazyCache {
	return lazyCache{maps: make(map[int64]*lazyEntry), short: make(map[int64]int64), check: make(map[int64]bool)}
}

// lazyAcquire returns a referenced mapping of the sealed segment s that
// covers need bytes if the file has them, mapping the file when no cached
// one does. It returns nil, nil when the file is not the one published
// from (the loop is asked to check it). Called with t.mu read-locked.
func (t *Tailer) lazyAcquire(s *segment, need int64) (*mapping, error) {
	c := &t.lz
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	if e := c.maps[s.start]; e != nil {
		if e.m.size() >= need {
			e.used = now
			e.m.acquire()
			return e.m, nil
		}
		c.evictLocked(s.start) // mapped short: the file may have grown since
	}
	f, fi, m, err := t.openMap(s)
	if err != nil {
		return nil, err
	}
	if err := f.Close(); err != nil {
		t.log.Warn("close segment", zap.String("segment", s.name), zap.Error(err))
	}
	id := idOf(fi)
	if id.changedFrom(s.id) {
		m.release()
		c.check[s.start] = true
		t.poke()
		return nil, nil
	}
	if !s.id.known() {
		s.id = id
	}
	c.maps[s.start] = &lazyEntry{m: m, used: now}
	c.trimLocked()
	m.acquire()
	return m, nil
}

// poke wakes the loop without a hint.
func (t *Tailer) poke() {
	select {
	case t.wake <- struct{}{}:
	default:
	}
}

// noteShort records that a Read of the sealed segment at start found only
// mapped bytes of it below End: the loop watches the file grow.
func (c *lazyCache) noteShort(start, mapped int64) {
	c.mu.Lock()
	c.short[start] = mapped
	c.mu.Unlock()
}

// adopt takes over m, the reference the tailer held while the segment was
// pinned, as a cached mapping.
func (c *lazyCache) adopt(start int64, m *mapping) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.evictLocked(start)
	c.maps[start] = &lazyEntry{m: m, used: time.Now()}
	c.trimLocked()
}

// forget drops everything cached about the segment at start.
func (c *lazyCache) forget(start int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.evictLocked(start)
	delete(c.short, start)
	delete(c.check, start)
}

// expire releases the mappings not read for lingerFor.
func (c *lazyCache) expire(now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for start, e := range c.maps {
		if now.Sub(e.used) >= lingerFor {
			c.evictLocked(start)
		}
	}
}

// closeAll releases every cached mapping (Run is ending).
func (c *lazyCache) closeAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for start := range c.maps {
		c.evictLocked(start)
	}
}

func (c *lazyCache) evictLocked(start int64) {
	if e := c.maps[start]; e != nil {
		e.m.release()
		delete(c.maps, start)
	}
}

// trimLocked evicts the least recently read mappings above lingerMaps.
func (c *lazyCache) trimLocked() {
	for len(c.maps) > lingerMaps {
		oldest, at := int64(-1), time.Time{}
		for start, e := range c.maps {
			if oldest < 0 || e.used.Before(at) {
				oldest, at = start, e.used
			}
		}
		c.evictLocked(oldest)
	}
}

func (c *lazyCache) getID(s *segment) fileID {
	c.mu.Lock()
	defer c.mu.Unlock()
	return s.id
}

// setID records the file now known under s's name and returns the one
// known before.
func (c *lazyCache) setID(s *segment, id fileID) fileID {
	c.mu.Lock()
	defer c.mu.Unlock()
	was := s.id
	s.id = id
	return was
}

// housekeep runs each loop step: expires idle mappings, checks the
// segments Reads found changed, and wakes readers of a short segment once
// its file grew. Each costs nothing when there is nothing to do.
func (t *Tailer) housekeep(now time.Time) {
	c := &t.lz
	c.mu.Lock()
	idle := len(c.maps) == 0 && len(c.short) == 0 && len(c.check) == 0
	check, short := c.check, c.short
	if !idle {
		c.check, c.short = make(map[int64]bool), make(map[int64]int64)
	}
	c.mu.Unlock()
	if idle {
		return
	}
	c.expire(now)
	for start := range check {
		if s := t.segs[start]; s != nil {
			t.checkIdentity(s)
		}
	}
	for start, mapped := range short {
		t.checkShort(start, mapped)
	}
}

// checkShort wakes readers once the sealed segment at start has more than
// mapped bytes; until then it keeps watching.
func (t *Tailer) checkShort(start, mapped int64) {
	s := t.segs[start]
	if s == nil || t.loop.pinned == s {
		return
	}
	fi, err := t.opts.FS.Stat(s.path)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			t.lz.noteShort(start, mapped) // retried next step
		}
		return
	}
	if min(fi.Size(), t.info.SegmentSize) <= mapped {
		t.lz.noteShort(start, mapped)
		return
	}
	t.mu.Lock()
	if !t.closed {
		close(t.changed)
		t.changed = make(chan struct{})
	}
	t.mu.Unlock()
}
