package lineage

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

// StampsFile holds the stamps: {"<base>":{"size":..,"mtime_ns":..,"covered":..},...}.
const StampsFile = "stamps.json"

// maxStamps bounds stamps.json as read (64 Ki segments of ~80 bytes).
const maxStamps = 8 << 20

// StampInfo is what Stamp recorded for a segment: its file's size and
// mtime when its lineage was confirmed up to Covered.
type StampInfo struct {
	Size    int64 `json:"size"`
	MtimeNs int64 `json:"mtime_ns"`
	Covered int64 `json:"covered"`
}

// Stamp records the segment file's size and mtime as confirmed for the
// current coverage, durably (stamps.json is rewritten atomically: two
// fsyncs, skipped when nothing changed). A consumer that later finds
// other values on the file knows it changed behind the lineage's back.
func (s *Store) Stamp(base int64, size int64, mtimeNs int64) error {
	s.mu.Lock()
	g, err := s.get(base)
	if err != nil {
		s.mu.Unlock()
		return fmt.Errorf("lineage: stamp: %w", err)
	}
	st := StampInfo{Size: size, MtimeNs: mtimeNs, Covered: g.covered(s.bs)}
	old, had := s.stamps[base]
	s.stamps[base] = st
	s.mu.Unlock()
	if had && old == st {
		return nil
	}
	return s.saveStamps()
}

// FileStamp is one segment's file size and mtime for StampMany.
type FileStamp struct {
	Base, Size, MtimeNs int64
}

// StampMany is Stamp for several segments with one rewrite of
// stamps.json: rewriting the whole file once per segment made a sync after
// a back-fill of N segments cost O(N^2) (10,000 segments kept a master at
// most of a core for minutes). A segment without lineage fails the batch
// before anything is recorded.
func (s *Store) StampMany(list []FileStamp) error {
	if len(list) == 0 {
		return nil
	}
	s.mu.Lock()
	infos := make([]StampInfo, len(list))
	for i, fs := range list {
		g, err := s.get(fs.Base)
		if err != nil {
			s.mu.Unlock()
			return fmt.Errorf("lineage: stamp segment %d: %w", fs.Base, err)
		}
		infos[i] = StampInfo{Size: fs.Size, MtimeNs: fs.MtimeNs, Covered: g.covered(s.bs)}
	}
	changed := false
	for i, fs := range list {
		if old, had := s.stamps[fs.Base]; !had || old != infos[i] {
			s.stamps[fs.Base] = infos[i]
			changed = true
		}
	}
	s.mu.Unlock()
	if !changed {
		return nil
	}
	return s.saveStamps()
}

// Stamped returns the segment's last stamp: the file's size and mtime.
func (s *Store) Stamped(base int64) (size, mtimeNs int64, ok bool) {
	st, ok := s.StampOf(base)
	return st.Size, st.MtimeNs, ok
}

// StampOf returns the segment's last stamp with the coverage it confirmed.
func (s *Store) StampOf(base int64) (StampInfo, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.stamps[base]
	return st, ok
}

// saveStamps writes a snapshot of the stamps atomically. stampMu orders
// the writes: each writes the memory as it is when it starts, so the
// last one to finish wrote the latest.
func (s *Store) saveStamps() error {
	s.stampMu.Lock()
	defer s.stampMu.Unlock()
	s.mu.Lock()
	doc := make(map[string]StampInfo, len(s.stamps))
	for base, st := range s.stamps {
		doc[strconv.FormatInt(base, 10)] = st
	}
	s.mu.Unlock()
	b, err := json.Marshal(doc)
	if err != nil {
		return fmt.Errorf("lineage: encode stamps: %w", err)
	}
	path := filepath.Join(s.dir, StampsFile)
	if err := writeFileAtomic(path, b); err != nil {
		return fmt.Errorf("lineage: write %s: %w", path, err)
	}
	return nil
}

// loadStamps reads stamps.json; a bad one is moved aside (the segments
// then count as never confirmed). Stamps of segments without lineage
// are dropped: nothing they confirm exists.
func (s *Store) loadStamps() error {
	path := filepath.Join(s.dir, StampsFile)
	b, err := readSmall(path, maxStamps)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil && !errors.Is(err, ErrCorrupt) {
		return fmt.Errorf("lineage: read %s: %w", path, err)
	}
	var doc map[string]StampInfo
	if err == nil {
		err = json.Unmarshal(b, &doc)
	}
	if err == nil {
		err = s.takeStamps(doc)
	}
	if err != nil {
		s.stamps = map[int64]StampInfo{}
		return s.moveAside(path, err)
	}
	return nil
}

func (s *Store) takeStamps(doc map[string]StampInfo) error {
	for k, st := range doc {
		base, err := strconv.ParseInt(k, 10, 64)
		if err != nil || strconv.FormatInt(base, 10) != k || st.Size < 0 || st.Covered < base {
			return fmt.Errorf("stamp %q %+v: %w", k, st, ErrCorrupt)
		}
		if s.segs[base] != nil {
			s.stamps[base] = st
		}
	}
	return nil
}

// readSmall reads a file of at most limit bytes; a bigger one is ErrCorrupt.
func readSmall(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.Size() > limit {
		return nil, fmt.Errorf("%d bytes, at most %d: %w", st.Size(), limit, ErrCorrupt)
	}
	b := make([]byte, st.Size())
	if _, err := f.ReadAt(b, 0); err != nil && st.Size() > 0 {
		return nil, err
	}
	return b, nil
}
