package external

import "sync"

// maxCached bounds each cache map; past it the map starts over. Segment
// directories hold far fewer names than this.
const maxCached = 1 << 14

type parsed struct {
	start int64
	ok    bool
}

// nameCache remembers SegmentName and ParseName answers: they are a pure
// function of the layout (checked unchanged across restarts through Info),
// and caching them keeps directory listings off the RPC path.
type nameCache struct {
	mu     sync.Mutex
	names  map[int64]string
	parses map[string]parsed
}

func (c *nameCache) name(start int64) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n, ok := c.names[start]
	return n, ok
}

func (c *nameCache) putName(start int64, name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.names == nil || len(c.names) >= maxCached {
		c.names = make(map[int64]string)
	}
	c.names[start] = name
}

func (c *nameCache) parse(name string) (parsed, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p, ok := c.parses[name]
	return p, ok
}

func (c *nameCache) putParse(name string, p parsed) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.parses == nil || len(c.parses) >= maxCached {
		c.parses = make(map[string]parsed)
	}
	c.parses[name] = p
}
