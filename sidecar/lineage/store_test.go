package lineage

import (
	"bytes"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hasidecar/hasidecar/sidecar/haproto"
	"go.uber.org/zap/zaptest"
)

const gib = 1 << 30

func mustOpen(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := Open(zaptest.NewLogger(t), dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func fill(n int, b byte) []byte { return bytes.Repeat([]byte{b}, n) }

func TestBlockSizeMatchesWire(t *testing.T) {
	if BlockSize != haproto.LineageBlock {
		t.Fatalf("lineage block %d, wire says %d", BlockSize, haproto.LineageBlock)
	}
}

// TestDocExample builds doc.go's example and checks every byte and
// figure it states.
func TestDocExample(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir)
	const base, name = gib, "00000000001073741824"
	if err := s.Segment(base, gib, name); err != nil {
		t.Fatal(err)
	}
	for _, p := range [][]byte{fill(BlockSize, 0), fill(BlockSize, 0xff), fill(4096, 0)} {
		cov, _ := s.Covered(base)
		if err := s.Append(base, cov, p); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Sync(); err != nil {
		t.Fatal(err)
	}
	if cov, _ := s.Covered(base); cov != base+2101248 {
		t.Fatalf("covered %d", cov)
	}
	got, err := os.ReadFile(filepath.Join(dir, name+".lin"))
	if err != nil {
		t.Fatal(err)
	}
	want, _ := hex.DecodeString(strings.ReplaceAll("48415349 4c494e31 00000001 00100000 0000000040000000 0000000040000000 14298c12 91a3b1e6", " ", ""))
	if !bytes.Equal(got, want) {
		t.Fatalf("file\n%x\nwant\n%x", got, want)
	}
	crcs, err := s.Blocks(base, base, base+2101248)
	if err != nil || len(crcs) != 3 || crcs[2] != 0x98f94189 {
		t.Fatalf("blocks %x %v", crcs, err)
	}
	if r, err := s.Rollup(base, 2); err != nil || r != 0x88bfec21 {
		t.Fatalf("rollup %08x %v", r, err)
	}
	s.Close()
	s2 := mustOpen(t, dir)
	if cov, ok := s2.Covered(base); !ok || cov != base+2097152 {
		t.Fatalf("covered after reopen %d %v", cov, ok)
	}
}

// small opens a store with 16-byte blocks so tests cover many blocks
// with few bytes.
func small(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := open(zaptest.NewLogger(t), dir, 16)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestAppendRules(t *testing.T) {
	s := small(t, t.TempDir())
	if err := s.Append(0, 0, []byte("x")); !errors.Is(err, ErrUnknown) {
		t.Fatalf("unknown segment: %v", err)
	}
	if err := s.Segment(100, 40, "a"); err != nil {
		t.Fatal(err)
	}
	if err := s.Append(100, 101, []byte("x")); !errors.Is(err, ErrGap) {
		t.Fatalf("gap: %v", err)
	}
	if err := s.Append(100, 100, fill(41, 1)); !errors.Is(err, ErrRange) {
		t.Fatalf("past end: %v", err)
	}
	if cov, _ := s.Covered(100); cov != 100 {
		t.Fatalf("a refused append hashed: covered %d", cov)
	}
	// 40 bytes: blocks of 16, 16 and a short last one of 8, complete at the end.
	if err := s.Append(100, 100, fill(40, 1)); err != nil {
		t.Fatal(err)
	}
	crcs, err := s.Blocks(100, 100, 140)
	if err != nil || len(crcs) != 3 || crcs[2] != BlockCRC(fill(8, 1)) {
		t.Fatalf("blocks %x %v", crcs, err)
	}
	if _, err := s.Rollup(100, 4); !errors.Is(err, ErrRange) {
		t.Fatalf("rollup past complete blocks: %v", err)
	}
	if r, _ := s.Rollup(100, 3); r != RollupOf(crcs) {
		t.Fatal("rollup of 3")
	}
}

func TestBlocksRanges(t *testing.T) {
	s := small(t, t.TempDir())
	s.Segment(0, 100, "a")
	data := []byte("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJ") // 46 bytes
	s.Append(0, 0, data)
	for _, c := range []struct {
		from, to int64
		want     []uint32
		err      error
	}{
		{0, 46, blocksOf(data, 0, 16), nil},
		{16, 46, blocksOf(data[16:], 16, 16), nil},
		{16, 32, []uint32{BlockCRC(data[16:32])}, nil},
		{32, 32, []uint32{}, nil},
		{0, 20, nil, ErrRange}, // cuts a complete block
		{8, 46, nil, ErrRange}, // not a block start
		{0, 47, nil, ErrRange}, // past coverage
		{32, 16, nil, ErrRange},
	} {
		got, err := s.Blocks(0, c.from, c.to)
		if !errors.Is(err, c.err) || (c.err == nil && !equal(got, c.want)) {
			t.Errorf("[%d,%d): %x %v, want %x %v", c.from, c.to, got, err, c.want, c.err)
		}
	}
}

func equal(a, b []uint32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestBlocksOf(t *testing.T) {
	p := []byte("0123456789abcdefghijklmnopqrstuvwxyz")
	got := blocksOf(p, 32, 16)
	want := []uint32{BlockCRC(p[:16]), BlockCRC(p[16:32]), BlockCRC(p[32:])}
	if !equal(got, want) {
		t.Fatalf("aligned %x", got)
	}
	got = blocksOf(p, 10, 16) // first piece runs to the block start at 16
	want = []uint32{BlockCRC(p[:6]), BlockCRC(p[6:22]), BlockCRC(p[22:])}
	if !equal(got, want) {
		t.Fatalf("unaligned %x", got)
	}
	if len(BlocksOf(nil, 0)) != 0 {
		t.Fatal("empty")
	}
}

func TestTruncateAndReopen(t *testing.T) {
	dir := t.TempDir()
	s := small(t, dir)
	s.Segment(0, 1000, "a")
	data := fill(100, 7)
	s.Append(0, 0, data)
	if err := s.Sync(); err != nil {
		t.Fatal(err)
	}
	// 100 bytes = 6 complete blocks + 4; truncate at 50 keeps 3 blocks.
	if err := s.Truncate(0, 50); err != nil {
		t.Fatal(err)
	}
	if cov, _ := s.Covered(0); cov != 48 {
		t.Fatalf("covered after truncate %d", cov)
	}
	if st, _ := os.Stat(filepath.Join(dir, "a.lin")); st.Size() != HeaderSize+3*RecordSize {
		t.Fatalf("file not cut at once: %d bytes", st.Size())
	}
	if err := s.Append(0, 48, data[48:80]); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s2 := small(t, dir)
	if cov, _ := s2.Covered(0); cov != 80 {
		t.Fatalf("covered after reopen %d", cov)
	}
	crcs, _ := s2.Blocks(0, 0, 80)
	if !equal(crcs, blocksOf(data[:80], 0, 16)) {
		t.Fatalf("crcs after reopen %x", crcs)
	}
	if err := s2.Truncate(0, -5); err != nil {
		t.Fatal(err)
	}
	if cov, _ := s2.Covered(0); cov != 0 {
		t.Fatalf("covered after truncate below base %d", cov)
	}
}

func TestTornRecordDropped(t *testing.T) {
	dir := t.TempDir()
	s := small(t, dir)
	s.Segment(0, 1000, "a")
	s.Append(0, 0, fill(40, 1))
	s.Close()
	path := filepath.Join(dir, "a.lin")
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.Write([]byte{1, 2})
	f.Close()
	s2 := small(t, dir)
	if cov, _ := s2.Covered(0); cov != 32 {
		t.Fatalf("covered %d", cov)
	}
	if st, _ := os.Stat(path); st.Size() != HeaderSize+2*RecordSize {
		t.Fatalf("torn record left: %d bytes", st.Size())
	}
}

func asideFiles(t *testing.T, dir string) []string {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(dir, "*.bad-*"))
	return m
}

func TestBadFilesMovedAside(t *testing.T) {
	for name, mutate := range map[string]func([]byte) []byte{
		"magic":       func(b []byte) []byte { b[0] = 'X'; return b },
		"version":     func(b []byte) []byte { b[11] = 2; return b },
		"block size":  func(b []byte) []byte { b[15] = 32; return b },
		"negative":    func(b []byte) []byte { b[16] = 0x80; return b },
		"huge":        func(b []byte) []byte { b[26] = 0x7f; b[24] = 0x7f; return b },
		"short":       func(b []byte) []byte { return b[:20] },
		"too many":    func(b []byte) []byte { return append(b, make([]byte, 4*100)...) },
		"empty":       func(b []byte) []byte { return nil },
		"foreign":     func(b []byte) []byte { return []byte("not a lineage file at all, really not") },
		"zero size":   func(b []byte) []byte { copy(b[24:32], make([]byte, 8)); return b },
		"extra magic": func(b []byte) []byte { copy(b, "HASILIN2"); return b },
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			s := small(t, dir)
			s.Segment(0, 64, "a")
			s.Append(0, 0, fill(32, 1))
			s.Close()
			path := filepath.Join(dir, "a.lin")
			b, _ := os.ReadFile(path)
			os.WriteFile(path, mutate(b), 0o600)
			s2 := small(t, dir)
			if cov, ok := s2.Covered(0); ok || cov != 0 {
				t.Fatalf("bad file trusted: covered %d", cov)
			}
			if len(asideFiles(t, dir)) != 1 {
				t.Fatalf("not moved aside: %v", asideFiles(t, dir))
			}
			if err := s2.Segment(0, 64, "a"); err != nil {
				t.Fatal(err)
			}
			if cov, _ := s2.Covered(0); cov != 0 {
				t.Fatalf("covered %d", cov)
			}
		})
	}
}

func TestSegmentDisagreeingMovedAside(t *testing.T) {
	dir := t.TempDir()
	s := small(t, dir)
	s.Segment(0, 64, "a")
	s.Append(0, 0, fill(32, 1))
	s.Close()
	s2 := small(t, dir)
	if err := s2.Segment(0, 128, "a"); err != nil { // another size: the old file is not this segment's
		t.Fatal(err)
	}
	if cov, _ := s2.Covered(0); cov != 0 {
		t.Fatalf("covered %d", cov)
	}
	if len(asideFiles(t, dir)) != 1 {
		t.Fatal("not moved aside")
	}
	if err := s2.Segment(0, 64, "a"); !errors.Is(err, ErrRange) {
		t.Fatalf("re-register with another size: %v", err)
	}
	if err := s2.Segment(64, 64, "a"); !errors.Is(err, ErrRange) {
		t.Fatalf("overlap/same name: %v", err)
	}
	if err := s2.Segment(128, 64, "../x"); !errors.Is(err, ErrRange) {
		t.Fatalf("path name: %v", err)
	}
	if err := s2.Segment(0, 128, "a"); err != nil {
		t.Fatalf("idempotent: %v", err)
	}
}

func TestForgetAndSegments(t *testing.T) {
	dir := t.TempDir()
	s := small(t, dir)
	s.Segment(64, 64, "b")
	s.Segment(0, 64, "a")
	s.Append(0, 0, fill(10, 1))
	got := s.Segments()
	if len(got) != 2 || got[0] != (SegmentInfo{0, 64, "a", 10}) || got[1] != (SegmentInfo{64, 64, "b", 64}) {
		t.Fatalf("segments %+v", got)
	}
	if err := s.Stamp(0, 64, 123); err != nil {
		t.Fatal(err)
	}
	if err := s.Forget(0); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "a.lin")); !os.IsNotExist(err) {
		t.Fatalf("lin kept: %v", err)
	}
	if _, _, ok := s.Stamped(0); ok {
		t.Fatal("stamp kept")
	}
	if err := s.Forget(0); err != nil {
		t.Fatalf("forget twice: %v", err)
	}
}

func TestStamps(t *testing.T) {
	dir := t.TempDir()
	s := small(t, dir)
	s.Segment(0, 64, "a")
	s.Append(0, 0, fill(20, 1))
	if err := s.Stamp(0, 4096, 1234567); err != nil {
		t.Fatal(err)
	}
	if err := s.Stamp(99, 1, 1); !errors.Is(err, ErrUnknown) {
		t.Fatalf("stamp unknown: %v", err)
	}
	s.Close()
	s2 := small(t, dir)
	size, mt, ok := s2.Stamped(0)
	st, _ := s2.StampOf(0)
	if !ok || size != 4096 || mt != 1234567 || st.Covered != 20 {
		t.Fatalf("stamp %d %d %v %+v", size, mt, ok, st)
	}
	s2.Close()
	os.WriteFile(filepath.Join(dir, StampsFile), []byte(`{"0":{"size":-1}}`), 0o600)
	s3 := small(t, dir)
	if _, _, ok := s3.Stamped(0); ok {
		t.Fatal("bad stamps trusted")
	}
	if len(asideFiles(t, dir)) != 1 {
		t.Fatal("bad stamps not moved aside")
	}
}

// readerAt is a file content for Rebuild.
type readerAt []byte

func (r readerAt) ReadAt(p []byte, off int64) (int, error) {
	if off >= int64(len(r)) {
		return 0, os.ErrNotExist
	}
	n := copy(p, r[off:])
	if n < len(p) {
		return n, nil // a short read without EOF must still be caught
	}
	return n, nil
}

func TestRebuild(t *testing.T) {
	dir := t.TempDir()
	s := small(t, dir)
	s.Segment(32, 64, "a")
	s.Append(32, 32, fill(40, 1))
	s.Sync()
	file := fill(64, 2)
	if err := s.Rebuild(32, 32+50, readerAt(file)); err != nil {
		t.Fatal(err)
	}
	crcs, _ := s.Blocks(32, 32, 82)
	if !equal(crcs, blocksOf(file[:50], 0, 16)) {
		t.Fatalf("rebuilt %x", crcs)
	}
	if err := s.Rebuild(32, 32+65, readerAt(file)); !errors.Is(err, ErrRange) {
		t.Fatalf("past the segment: %v", err)
	}
	if err := s.Rebuild(32, 32+60, readerAt(file[:55])); !errors.Is(err, ErrRange) {
		t.Fatalf("short file: %v", err)
	}
	s.Close()
	s2 := small(t, dir)
	if cov, _ := s2.Covered(32); cov != 32+48 {
		t.Fatalf("covered after reopen %d", cov)
	}
}

func TestRealFileRebuild(t *testing.T) {
	dir := t.TempDir()
	seg := filepath.Join(t.TempDir(), "seg")
	data := bytes.Repeat([]byte("lineage!"), (3*BlockSize+100)/8)
	os.WriteFile(seg, data, 0o600)
	f, _ := os.Open(seg)
	defer f.Close()
	s := mustOpen(t, dir)
	s.Segment(0, gib, "seg")
	if err := s.Rebuild(0, int64(len(data)), f); err != nil {
		t.Fatal(err)
	}
	crcs, _ := s.Blocks(0, 0, int64(len(data)))
	if !equal(crcs, BlocksOf(data, 0)) || len(crcs) != 4 {
		t.Fatalf("crcs %x", crcs)
	}
}

func TestClosed(t *testing.T) {
	s := small(t, t.TempDir())
	s.Segment(0, 64, "a")
	s.Close()
	if err := s.Append(0, 0, []byte("x")); !errors.Is(err, ErrClosed) {
		t.Fatalf("append after close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("close twice: %v", err)
	}
}

func TestLeftoverTmpRemoved(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a.lin.tmp"), []byte("half"), 0o600)
	small(t, dir)
	if _, err := os.Stat(filepath.Join(dir, "a.lin.tmp")); !os.IsNotExist(err) {
		t.Fatalf("tmp kept: %v", err)
	}
}

// TestStampMany records several segments' stamps in one rewrite and
// refuses a batch naming a segment without lineage before recording any.
func TestStampMany(t *testing.T) {
	dir := t.TempDir()
	s := small(t, dir)
	s.Segment(0, 64, "a")
	s.Segment(64, 64, "b")
	s.Append(0, 0, fill(20, 1))
	if err := s.StampMany([]FileStamp{{Base: 0, Size: 10, MtimeNs: 11}, {Base: 99, Size: 1, MtimeNs: 1}}); !errors.Is(err, ErrUnknown) {
		t.Fatalf("stamp unknown in a batch: %v", err)
	}
	if _, _, ok := s.Stamped(0); ok {
		t.Fatal("a refused batch recorded a stamp")
	}
	if err := s.StampMany([]FileStamp{{Base: 0, Size: 10, MtimeNs: 11}, {Base: 64, Size: 20, MtimeNs: 21}}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s2 := small(t, dir)
	defer s2.Close()
	a, _ := s2.StampOf(0)
	b, _ := s2.StampOf(64)
	if a != (StampInfo{Size: 10, MtimeNs: 11, Covered: 20}) || b != (StampInfo{Size: 20, MtimeNs: 21, Covered: 64}) {
		t.Fatalf("stamps read back %+v %+v", a, b)
	}
}
