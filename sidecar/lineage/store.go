package lineage

import (
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
)

// BlockSize is the lineage block: one CRC-32C per BlockSize bytes of a
// segment, counted from the segment's base.
const BlockSize = 1 << 20

// MaxSegment bounds a segment the store keeps lineage for: its CRCs stay
// in memory (4 MiB for 1 TiB).
const MaxSegment = 1 << 40

var (
	// ErrGap means an Append that does not continue the coverage.
	ErrGap = errors.New("lineage: append not contiguous with coverage")
	// ErrRange means an offset, size or name outside what the segment or
	// its coverage allows.
	ErrRange = errors.New("lineage: offset out of range")
	// ErrCorrupt means a lineage file that cannot be trusted.
	ErrCorrupt = errors.New("lineage: corrupt lineage file")
	// ErrUnknown means a segment that is not registered.
	ErrUnknown = errors.New("lineage: unknown segment")
	// ErrClosed means a Store used after Close.
	ErrClosed = errors.New("lineage: store closed")
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// SegmentInfo describes one segment's lineage.
type SegmentInfo struct {
	Base, Size int64
	Name       string
	// Covered is the absolute end of the hashed bytes (Store.Covered).
	Covered int64
}

// Store keeps the lineage of a directory's segments. It is safe for
// concurrent use. Locks: syncMu serializes everything that writes .lin
// files (Sync, Truncate, Forget, Segment, Rebuild) so records are never
// written around a cut; mu guards the memory and is never held across
// an fsync, so Append (the hot path) waits only for other memory work.
type Store struct {
	log *zap.Logger
	dir string
	bs  int64

	syncMu sync.Mutex
	mu     sync.Mutex
	segs   map[int64]*segment
	stamps map[int64]StampInfo
	closed bool
	// dirDirty: a .lin file was created since the last Sync, whose name
	// the next Sync makes durable with one fsync of the directory.
	dirDirty bool
	// hiEnd bounds every registered segment's end from above and names
	// holds every registered name (and perhaps forgotten ones): a new
	// segment at or above hiEnd with a new name clashes with nothing, so
	// registering segments in order costs O(1), not a scan of them all.
	hiEnd int64
	names map[string]struct{}
	// stampMu serializes writes of stamps.json.
	stampMu sync.Mutex
}

// segment is one segment's lineage in memory.
type segment struct {
	base, size int64
	name       string
	// confirmed: registered by Segment in this process, not only loaded
	// from disk (a loaded one that disagrees is moved aside).
	confirmed bool
	crcs      []uint32 // complete blocks, in order
	onDisk    int      // records in the .lin file
	needCut   bool     // the file may hold records past onDisk (a cut failed)
	part      uint32   // CRC-32C of the partial block's bytes so far
	partLen   int64
}

func (g *segment) path(dir string) string { return filepath.Join(dir, g.name+Ext) }

// covered is the absolute end of the hashed bytes.
func (g *segment) covered(bs int64) int64 {
	return g.base + min(int64(len(g.crcs))*bs, g.size) + g.partLen
}

// Open loads every .lin file of dir, creating dir (0700) if needed. A
// file that is bad or foreign is moved aside (never deleted) and logged;
// its segment starts without lineage.
func Open(log *zap.Logger, dir string) (*Store, error) {
	return open(log, dir, BlockSize)
}

// open lets tests use small blocks; the block size is in every header,
// so a file of another block size is foreign.
func open(log *zap.Logger, dir string, bs int64) (*Store, error) {
	if log == nil {
		log = zap.NewNop()
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("lineage: create %s: %w", dir, err)
	}
	s := &Store{log: log, dir: dir, bs: bs, segs: map[int64]*segment{}, stamps: map[int64]StampInfo{}}
	if err := s.loadAll(); err != nil {
		return nil, err
	}
	if err := s.loadStamps(); err != nil {
		return nil, err
	}
	return s, nil
}

// loadAll loads the .lin files in name order; a file overlapping one
// loaded before it is moved aside, so what is kept never overlaps.
func (s *Store) loadAll() error {
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return fmt.Errorf("lineage: list %s: %w", s.dir, err)
	}
	for _, e := range ents {
		name := e.Name()
		switch {
		case strings.HasSuffix(name, tmpExt):
			// An atomic write that did not finish: ours, never renamed in.
			os.Remove(filepath.Join(s.dir, name))
		case strings.HasSuffix(name, Ext) && e.Type().IsRegular():
			if err := s.loadOne(strings.TrimSuffix(name, Ext)); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *Store) loadOne(name string) error {
	path := filepath.Join(s.dir, name+Ext)
	h, crcs, torn, err := loadFile(path, s.bs)
	if err == nil {
		err = checkName(name)
	}
	if err == nil {
		err = s.overlapLoaded(h.base, h.size)
	}
	if err != nil {
		if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrRange) {
			return fmt.Errorf("lineage: load %s: %w", path, err)
		}
		return s.moveAside(path, err)
	}
	if torn > 0 {
		s.log.Info("lineage: dropped a torn trailing record", zap.String("path", path), zap.Int("bytes", torn))
	}
	s.segs[h.base] = &segment{base: h.base, size: h.size, name: name, crcs: crcs, onDisk: len(crcs)}
	s.noteSegment(h.base, h.size, name)
	return nil
}

func (s *Store) overlapLoaded(base, size int64) error {
	if base >= s.hiEnd {
		return nil // files load in name order, which is base order for a layout's names
	}
	for _, g := range s.segs {
		if base < g.base+g.size && g.base < base+size {
			return fmt.Errorf("segment [%d, %d) overlaps %s's [%d, %d): %w", base, base+size, g.name, g.base, g.base+g.size, ErrCorrupt)
		}
	}
	return nil
}

// moveAside renames a file we cannot trust to <path>.bad-<unixnano>.
func (s *Store) moveAside(path string, why error) error {
	aside := path + badInfix + strconv.FormatInt(time.Now().UnixNano(), 10)
	if err := os.Rename(path, aside); err != nil {
		return fmt.Errorf("lineage: move %s aside (%v): %w", path, why, err)
	}
	if err := syncDir(s.dir); err != nil {
		return fmt.Errorf("lineage: move %s aside: %w", path, err)
	}
	s.log.Warn("lineage: file moved aside, its segment starts without lineage",
		zap.String("path", path), zap.String("moved_to", aside), zap.String("reason", why.Error()))
	return nil
}

// Close syncs what is queued; the store is unusable afterwards. Closing
// twice is no error.
func (s *Store) Close() error {
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return nil
	}
	err := s.Sync()
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	return err
}

// get returns the segment at base; s.mu must be held.
func (s *Store) get(base int64) (*segment, error) {
	if s.closed {
		return nil, ErrClosed
	}
	g := s.segs[base]
	if g == nil {
		return nil, fmt.Errorf("segment at %d: %w", base, ErrUnknown)
	}
	return g, nil
}

// Covered is the absolute end up to which the segment's bytes have been
// hashed: complete blocks plus the in-memory partial one; base if none.
// An unknown segment is (base, false).
func (s *Store) Covered(base int64) (int64, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.segs[base]
	if g == nil {
		return base, false
	}
	return g.covered(s.bs), true
}

// Segments lists the known segments, oldest first: those registered and
// those loaded from disk and not yet registered in this process.
func (s *Store) Segments() []SegmentInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]SegmentInfo, 0, len(s.segs))
	for _, g := range s.segs {
		out = append(out, SegmentInfo{Base: g.base, Size: g.size, Name: g.name, Covered: g.covered(s.bs)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Base < out[j].Base })
	return out
}
