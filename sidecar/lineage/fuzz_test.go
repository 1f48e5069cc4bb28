package lineage

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"go.uber.org/zap"
)

const fuzzBS = 16

// FuzzOpenFile opens a store over whatever a .lin file and stamps.json
// hold: it never fails or panics, and what it keeps is exactly the
// records of a file with a valid header.
func FuzzOpenFile(f *testing.F) {
	good := header{blockSize: fuzzBS, base: 0, size: 64}.encode()
	f.Add(append(good, 1, 2, 3, 4, 5, 6), []byte(`{"0":{"size":1,"mtime_ns":2,"covered":4}}`))
	f.Add(good[:31], []byte(`{`))
	f.Add(append(good, make([]byte, 4*5)...), []byte(`{"x":{}}`))
	f.Add([]byte("HASILIN1"), []byte(nil))
	f.Fuzz(func(t *testing.T, lin, stamps []byte) {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "a.lin"), lin, 0o600)
		if stamps != nil {
			os.WriteFile(filepath.Join(dir, StampsFile), stamps, 0o600)
		}
		s, err := open(zap.NewNop(), dir, fuzzBS)
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		defer s.Close()
		segs := s.Segments()
		_, herr := decodeHeader(lin, fuzzBS)
		if herr != nil && len(segs) != 0 {
			t.Fatalf("kept a file with a bad header: %+v", segs)
		}
		for _, g := range segs {
			n := (int64(len(lin)) - HeaderSize) / RecordSize
			if want := g.Base + min(n*fuzzBS, g.Size); g.Covered != want {
				t.Fatalf("covered %d, file holds records up to %d", g.Covered, want)
			}
			if _, err := s.Blocks(g.Base, g.Base, g.Covered); err != nil {
				t.Fatalf("blocks of a kept file: %v", err)
			}
		}
		// Registering the segment over whatever was there always works.
		if err := s.Segment(0, 64, "a"); err != nil {
			t.Fatalf("segment: %v", err)
		}
		if err := s.Append(0, mustCovered(t, s, 0), []byte{1}); err != nil && !errors.Is(err, ErrRange) {
			t.Fatalf("append: %v", err)
		}
	})
}

func mustCovered(t *testing.T, s *Store, base int64) int64 {
	cov, ok := s.Covered(base)
	if !ok {
		t.Fatalf("segment %d unknown", base)
	}
	return cov
}

// model is what the store must hold: the bytes hashed since base, and how
// many complete blocks are durable in the file.
type model struct {
	base, size int64
	data       []byte
	synced     int
}

func (m *model) complete() int {
	if int64(len(m.data)) == m.size {
		return int((m.size + fuzzBS - 1) / fuzzBS)
	}
	return len(m.data) / fuzzBS
}

func (m *model) keepBlocks(n int) {
	m.data = m.data[:min(int64(len(m.data)), int64(n)*fuzzBS)]
	m.synced = min(m.synced, n)
}

// FuzzAppendTruncate drives a store with a sequence of appends, cuts,
// syncs, clean reopens and crashes (the store abandoned, a new one
// opened on its files) and checks it against the model after each step.
func FuzzAppendTruncate(f *testing.F) {
	f.Add([]byte{0, 20, 0, 30, 2, 0, 1, 25, 4, 0, 0, 50, 3, 0})
	f.Add([]byte{0, 99, 0, 99, 0, 99, 2, 0, 5, 0, 1, 200, 4, 0})
	f.Add([]byte{0, 17, 1, 40, 2, 0, 0, 3, 6, 1, 3, 0})
	f.Fuzz(func(t *testing.T, ops []byte) {
		if len(ops) > 200 {
			ops = ops[:200]
		}
		dir := t.TempDir()
		m := &model{base: 48, size: 100}
		s := reopen(t, nil, dir)
		if err := s.Segment(m.base, m.size, "seg"); err != nil {
			t.Fatal(err)
		}
		for i := 0; i+1 < len(ops); i += 2 {
			s = step(t, s, dir, m, ops[i]%7, ops[i+1])
			check(t, s, m)
		}
		s.Close()
	})
}

func reopen(t *testing.T, old *Store, dir string) *Store {
	s, err := open(zap.NewNop(), dir, fuzzBS)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	return s
}

func step(t *testing.T, s *Store, dir string, m *model, op, arg byte) *Store {
	cov := m.base + int64(len(m.data))
	switch op {
	case 0: // append arg bytes
		p := make([]byte, int(arg)%45)
		for i := range p {
			p[i] = byte(len(m.data)+i) ^ arg
		}
		err := s.Append(m.base, cov, p)
		if over := int64(len(m.data)+len(p)) > m.size; over != errors.Is(err, ErrRange) || (!over && err != nil) {
			t.Fatalf("append %d at %d: %v", len(p), cov, err)
		}
		if err == nil {
			m.data = append(m.data, p...)
		}
	case 1: // truncate at base-10+arg
		end := m.base - 10 + int64(arg)
		if err := s.Truncate(m.base, end); err != nil {
			t.Fatalf("truncate %d: %v", end, err)
		}
		if end < cov {
			m.keepBlocks(int(max(end-m.base, 0) / fuzzBS))
		}
	case 2:
		if err := s.Sync(); err != nil {
			t.Fatal(err)
		}
		m.synced = m.complete()
	case 3: // clean reopen
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		s = reopen(t, s, dir)
		m.keepBlocks(m.complete())
		m.synced = m.complete()
	case 4: // crash: what was not synced is lost
		s = reopen(t, s, dir)
		m.keepBlocks(m.synced)
	case 5: // an append that leaves a gap
		if err := s.Append(m.base, cov+1+int64(arg%5), []byte{1}); !errors.Is(err, ErrGap) {
			t.Fatalf("gap append: %v", err)
		}
	case 6: // rebuild from the model's bytes, cut at arg
		n := min(int64(arg), int64(len(m.data)))
		if err := s.Rebuild(m.base, m.base+n, readerAt(m.data)); err != nil {
			t.Fatalf("rebuild %d: %v", n, err)
		}
		m.data = m.data[:n]
		m.synced = m.complete()
	}
	if err := s.Segment(m.base, m.size, "seg"); err != nil {
		t.Fatalf("re-register: %v", err)
	}
	return s
}

func check(t *testing.T, s *Store, m *model) {
	cov := mustCovered(t, s, m.base)
	if cov != m.base+int64(len(m.data)) {
		t.Fatalf("covered %d, model %d", cov, m.base+int64(len(m.data)))
	}
	crcs, err := s.Blocks(m.base, m.base, cov)
	if err != nil || !equal(crcs, blocksOf(m.data, 0, fuzzBS)) {
		t.Fatalf("blocks %x %v, model %x", crcs, err, blocksOf(m.data, 0, fuzzBS))
	}
	n := m.complete()
	r, err := s.Rollup(m.base, n)
	if err != nil || r != RollupOf(blocksOf(m.data[:min(int64(len(m.data)), int64(n)*fuzzBS)], 0, fuzzBS)) {
		t.Fatalf("rollup of %d: %08x %v", n, r, err)
	}
	if _, err := s.Rollup(m.base, n+1); !errors.Is(err, ErrRange) {
		t.Fatalf("rollup past complete: %v", err)
	}
}
