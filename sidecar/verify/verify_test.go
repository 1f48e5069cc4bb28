package verify

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hasidecar/hasidecar/plugins/rocketmq"
)

const seg = 64 << 10

// fill appends n records to dir with the broker-like writer.
func fill(t *testing.T, dir string, n int) {
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
}

func copyDir(t *testing.T, src, dst string) {
	os.MkdirAll(dst, 0o755)
	ents, _ := os.ReadDir(src)
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644)
	}
}

func compare(t *testing.T, a, b string, exact bool) *Report {
	lay, err := rocketmq.New(rocketmq.Options{SegmentSize: seg})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Dirs(lay, a, b, Options{Exact: exact})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func TestIdenticalDirectories(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	fill(t, a, 1500)
	copyDir(t, a, b)
	for _, exact := range []bool{false, true} {
		if rep := compare(t, a, b, exact); !rep.Equal() || rep.Segments < 2 || rep.EndA != rep.EndB {
			t.Fatalf("exact=%v: %+v", exact, rep)
		}
	}
}

func TestReplicaBehindIsNotADifference(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	fill(t, b, 1000)
	copyDir(t, b, a)
	fill(t, a, 500) // the master went on
	rep := compare(t, a, b, false)
	if !rep.Equal() || len(rep.Notes) == 0 {
		t.Fatalf("behind replica: %+v", rep)
	}
	if rep := compare(t, a, b, true); rep.Equal() {
		t.Fatal("exact comparison accepted a replica that is behind")
	}
}

func TestCorruptByteIsFound(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	fill(t, a, 1000)
	copyDir(t, a, b)
	p := filepath.Join(b, "00000000000000065536")
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt([]byte{0xAB}, 777)
	f.Close()
	rep := compare(t, a, b, false)
	if rep.Equal() || !strings.Contains(strings.Join(rep.Diffs, "\n"), "offset 66313") {
		t.Fatalf("corruption not reported at 65536+777: %+v", rep.Diffs)
	}
}

func TestReplicaAheadOrMissingSegment(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	fill(t, a, 1000)
	copyDir(t, a, b)
	fill(t, b, 10) // the replica holds data the master does not
	if rep := compare(t, a, b, false); rep.Equal() {
		t.Fatal("replica ahead of the master accepted")
	}
	c := t.TempDir()
	copyDir(t, a, c)
	os.Remove(filepath.Join(c, "00000000000000065536"))
	if rep := compare(t, a, c, false); rep.Equal() {
		t.Fatal("missing middle segment accepted")
	}
}

func TestWrongLayoutIsAnErrorNotAPass(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	os.WriteFile(filepath.Join(a, "seg-00000000000000000000.log"), make([]byte, 100), 0o644)
	lay, _ := rocketmq.New(rocketmq.Options{SegmentSize: seg})
	if _, err := Dirs(lay, a, b, Options{Exact: true}); !errors.Is(err, ErrNoSegments) {
		t.Fatalf("want ErrNoSegments, got %v", err)
	}
}
