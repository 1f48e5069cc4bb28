package verify

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hasidecar/hasidecar/plugins"
	"github.com/hasidecar/hasidecar/plugins/rocketmq"
)

const seg = 64 << 10

// fill appends n records to dir with the broker-like writer and returns its end.
func fill(t *testing.T, dir string, n int) int64 {
	t.Helper()
	w, err := rocketmq.OpenWriter(nil, dir, rocketmq.WriterOptions{SegmentSize: seg})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	for i := 0; i < n; i++ {
		if _, err := w.Append(&rocketmq.Message{Topic: "t", Body: []byte(strings.Repeat("x", 100+i%7))}); err != nil {
			t.Fatal(err)
		}
	}
	return w.End()
}

func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func poke(t *testing.T, path string, pos int64, b byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt([]byte{b}, pos); err != nil {
		t.Fatal(err)
	}
}

func rmqLayout(t *testing.T, size int64) plugins.Layout {
	t.Helper()
	lay, err := rocketmq.New(rocketmq.Options{SegmentSize: size})
	if err != nil {
		t.Fatal(err)
	}
	return lay
}

func compare(t *testing.T, a, b string, exact bool) *Report {
	t.Helper()
	rep, err := Dirs(rmqLayout(t, seg), a, b, Options{Exact: exact})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// pair returns a master directory with n records and an identical copy.
func pair(t *testing.T, n int) (a, b string, end int64) {
	t.Helper()
	a, b = t.TempDir(), t.TempDir()
	end = fill(t, a, n)
	copyDir(t, a, b)
	return a, b, end
}

func diffText(rep *Report) string {
	var s []string
	for _, d := range rep.Diffs {
		s = append(s, d.What)
	}
	return strings.Join(s, "\n")
}

func TestIdenticalDirectoriesCountEveryByte(t *testing.T) {
	a, b, end := pair(t, 800)
	for _, exact := range []bool{false, true} {
		rep := compare(t, a, b, exact)
		if !rep.Equal() || rep.Segments != 3 || rep.EndA != end || rep.EndB != end || rep.Start != 0 || rep.End != end {
			t.Fatalf("exact=%v: %+v", exact, rep)
		}
		want := end
		if exact {
			want = 3 * seg
		}
		if rep.Bytes != want {
			t.Fatalf("exact=%v: %d bytes compared, want %d", exact, rep.Bytes, want)
		}
	}
}

func TestMissingOrEmptyDirectoryIsAnError(t *testing.T) {
	a, _, _ := pair(t, 10)
	gone := filepath.Join(t.TempDir(), "gone")
	for _, args := range [][2]string{{a, gone}, {gone, a}} {
		_, err := Dirs(rmqLayout(t, seg), args[0], args[1], Options{})
		if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), gone) {
			t.Fatalf("%v: want an error naming %s wrapping fs.ErrNotExist, got %v", args, gone, err)
		}
	}
	empty := t.TempDir()
	if _, err := Dirs(rmqLayout(t, seg), a, empty, Options{}); !errors.Is(err, ErrNoSegments) || !strings.Contains(err.Error(), empty) {
		t.Fatalf("empty replica: want ErrNoSegments naming %s, got %v", empty, err)
	}
}

func TestWrongLayoutIsAnErrorNotAPass(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	os.WriteFile(filepath.Join(a, "seg-00000000000000000000.log"), make([]byte, 100), 0o644)
	if _, err := Dirs(rmqLayout(t, seg), a, b, Options{Exact: true}); !errors.Is(err, ErrNoSegments) {
		t.Fatalf("want ErrNoSegments, got %v", err)
	}
}

func TestCorruptByteInThirdSegmentIsFound(t *testing.T) {
	a, b, _ := pair(t, 800)
	third := plugins.OffsetName(2 * seg)
	poke(t, filepath.Join(b, third), 777, 0xAB)
	for _, exact := range []bool{false, true} {
		rep := compare(t, a, b, exact)
		if rep.Equal() || rep.Diffs[0].Segment != third || rep.Diffs[0].Offset != 2*seg+777 || rep.Diffs[0].FilePos != 777 {
			t.Fatalf("exact=%v: corruption not reported at %d: %+v", exact, 2*seg+777, rep.Diffs)
		}
	}
}

func TestSegmentSizeMismatchIsAnError(t *testing.T) {
	a, b, _ := pair(t, 800)
	_, err := Dirs(rmqLayout(t, 4*seg), a, b, Options{})
	var se *SizeError
	if !errors.As(err, &se) || se.Got != seg || se.Want != 4*seg || !errors.Is(err, ErrSegmentSize) {
		t.Fatalf("64 KiB files under a 256 KiB layout: %v", err)
	}
	if !strings.Contains(err.Error(), "65536") || !strings.Contains(err.Error(), "262144") {
		t.Fatalf("error does not name both sizes: %v", err)
	}
}

func TestReplicaBehindIsADifference(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	endB := fill(t, b, 1000)
	copyDir(t, b, a)
	endA := fill(t, a, 500) // the master went on
	for _, exact := range []bool{false, true} {
		rep := compare(t, a, b, exact)
		if rep.Equal() || rep.End != endA || rep.EndB != endB || !strings.Contains(diffText(rep), "bytes short") {
			t.Fatalf("exact=%v: a replica %d bytes behind accepted: %+v", exact, endA-endB, rep)
		}
	}
}

func TestReplicaAheadOrMissingSegment(t *testing.T) {
	a, b, _ := pair(t, 1000)
	fill(t, b, 10) // the replica holds data the master does not
	if rep := compare(t, a, b, false); rep.Equal() || !strings.Contains(diffText(rep), "diverged") {
		t.Fatalf("replica ahead of the master accepted: %+v", rep)
	}
	c := t.TempDir()
	copyDir(t, a, c)
	middle := plugins.OffsetName(seg)
	os.Remove(filepath.Join(c, middle))
	rep := compare(t, a, c, false)
	if rep.Equal() || !strings.Contains(diffText(rep), "segment "+middle+" is only in "+a) {
		t.Fatalf("missing middle segment accepted: %+v", rep.Diffs)
	}
}

func TestExtraSegmentOnReplicaIsADifference(t *testing.T) {
	a, b, _ := pair(t, 1000)
	far := plugins.OffsetName(9 * seg)
	os.WriteFile(filepath.Join(b, far), make([]byte, seg), 0o644)
	rep := compare(t, a, b, false)
	if rep.Equal() || rep.Diffs[0].Segment != far || !strings.Contains(rep.Diffs[0].What, "only in "+b) {
		t.Fatalf("a zero segment far beyond the data accepted: %+v", rep)
	}
}

func TestReplicaStartingLaterIsNotedNotCompared(t *testing.T) {
	a, b, end := pair(t, 800)
	os.Remove(filepath.Join(b, plugins.OffsetName(0)))
	rep := compare(t, a, b, false)
	if !rep.Equal() || rep.Start != seg || rep.Segments != 2 || rep.Bytes != end-seg || len(rep.Notes) != 1 {
		t.Fatalf("replica from segment 1: %+v", rep)
	}
	if rep := compare(t, a, b, true); rep.Equal() || rep.Diffs[0].Segment != plugins.OffsetName(0) {
		t.Fatalf("exact accepted a missing oldest segment: %+v", rep)
	}
}

func TestZeroPreallocatedNextSegment(t *testing.T) {
	a, b, _ := pair(t, 800)
	next := plugins.OffsetName(3 * seg)
	p := filepath.Join(a, next)
	os.WriteFile(p, make([]byte, seg), 0o644)
	for _, exact := range []bool{false, true} {
		if rep := compare(t, a, b, exact); !rep.Equal() || !strings.Contains(strings.Join(rep.Notes, "\n"), next) {
			t.Fatalf("exact=%v: zero preallocated next segment: %+v", exact, rep)
		}
	}
	poke(t, p, 4321, 7)
	rep := compare(t, a, b, true)
	if rep.Equal() || rep.Diffs[0].Segment != next || rep.Diffs[0].Offset != 3*seg+4321 ||
		!strings.Contains(rep.Diffs[0].What, "offset 200929") {
		t.Fatalf("non-zero byte in the next segment: %+v", rep.Diffs)
	}
}

func TestExactComparesPastTheValidEnd(t *testing.T) {
	a, b, end := pair(t, 800)
	last := plugins.OffsetName(2 * seg)
	pos := end - 2*seg + 100 // beyond every valid record
	poke(t, filepath.Join(b, last), pos, 9)
	if rep := compare(t, a, b, false); !rep.Equal() {
		t.Fatalf("default mode compared past the valid end: %+v", rep.Diffs)
	}
	if rep := compare(t, a, b, true); rep.Equal() || rep.Diffs[0].Offset != 2*seg+pos {
		t.Fatalf("exact missed a byte past the valid end: %+v", rep.Diffs)
	}
}

func TestMaxDiffsBoundsTheList(t *testing.T) {
	a, b, _ := pair(t, 800)
	for i := 0; i < 3; i++ {
		poke(t, filepath.Join(b, plugins.OffsetName(int64(i)*seg)), 5, 0xFF)
	}
	rep, err := Dirs(rmqLayout(t, seg), a, b, Options{MaxDiffs: 2})
	if err != nil || len(rep.Diffs) != 2 || rep.Omitted == 0 || rep.Count() != len(rep.Diffs)+rep.Omitted {
		t.Fatalf("MaxDiffs 2: %v %+v", err, rep)
	}
}

func TestSegmentsPastTheValidEndCountNoBytes(t *testing.T) {
	a, b, end := pair(t, 800)
	for _, d := range []string{a, b} {
		os.WriteFile(filepath.Join(d, plugins.OffsetName(3*seg)), make([]byte, seg), 0o644)
	}
	rep := compare(t, a, b, false)
	if !rep.Equal() || rep.Segments != 3 || rep.Bytes != end {
		t.Fatalf("zero next segment on both sides: %+v", rep)
	}
	if rep := compare(t, a, b, true); !rep.Equal() || rep.Segments != 4 || rep.Bytes != 4*seg {
		t.Fatalf("exact, zero next segment on both sides: %+v", rep)
	}
}
