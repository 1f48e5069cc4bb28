package onlineverify

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hasidecar/hasidecar/plugins/raw"
)

const (
	testSeg = 8 << 20 // 8 blocks per segment
	mib     = 1 << 20
)

// pair writes total random bytes as raw segments into master/ and an
// identical slave/ under a temporary directory.
func pair(t *testing.T, total int64) (mdir, sdir string) {
	t.Helper()
	root := t.TempDir()
	mdir, sdir = filepath.Join(root, "master"), filepath.Join(root, "slave")
	lay, _ := raw.New(testSeg)
	for _, d := range []string{mdir, sdir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for base := int64(0); base < total; base += testSeg {
		b := make([]byte, min(testSeg, total-base))
		rand.Read(b)
		for _, d := range []string{mdir, sdir} {
			if err := os.WriteFile(filepath.Join(d, lay.SegmentName(base)), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	return mdir, sdir
}

// flip inverts the byte at absolute offset off of dir's raw segments.
func flip(t *testing.T, dir string, off int64) {
	t.Helper()
	lay, _ := raw.New(testSeg)
	path := filepath.Join(dir, lay.SegmentName(off-off%testSeg))
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var b [1]byte
	if _, err := f.ReadAt(b[:], off%testSeg); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0xff
	if _, err := f.WriteAt(b[:], off%testSeg); err != nil {
		t.Fatal(err)
	}
}

func run(t *testing.T, m *testMaster, sdir string, opts Options) (*Report, error) {
	t.Helper()
	return runVia(t, m, sdir, opts, func(s SourceCloser) Source { return s })
}

// runVia runs against m's digest channel through wrap (which may alter
// what the real client answers).
func runVia(t *testing.T, m *testMaster, sdir string, opts Options, wrap func(SourceCloser) Source) (*Report, error) {
	t.Helper()
	lay, _ := raw.New(testSeg)
	local, err := OpenLocal(lay, sdir, "")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	src, err := Dial(ctx, m.dial)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	return Run(ctx, wrap(src), local, opts)
}

func TestIdentical(t *testing.T) {
	const total = 3*testSeg + 3*mib + 12345 // the last block is partial
	mdir, sdir := pair(t, total)
	m := startTestMaster(t, mdir, testSeg, total)
	rep, err := run(t, m, sdir, Options{Chunk: 3 * mib})
	if err != nil {
		t.Fatal(err)
	}
	if rep.ComparedBytes != total || rep.MatchedBytes != total || len(rep.Differences) != 0 || rep.NotComparedSize != 0 {
		t.Fatalf("report %+v", rep)
	}
}

// TestFlippedByteRepaired: one byte flipped far below the end is named
// (its block), repair fetches only that block, logs it, and a second run
// finds nothing.
func TestFlippedByteRepaired(t *testing.T) {
	const total = 4*testSeg + 5*mib
	mdir, sdir := pair(t, total)
	m := startTestMaster(t, mdir, testSeg, total)
	bad := int64(testSeg + 2*mib + 777)
	flip(t, sdir, bad)
	rep, err := run(t, m, sdir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := Range{Offset: testSeg + 2*mib, Length: mib, Segment: "00000000000008388608"}
	if len(rep.Differences) != 1 || rep.Differences[0].Range != want || rep.Differences[0].Repair != "" || rep.MatchedBytes != total-mib {
		t.Fatalf("differences %+v, want %+v; report %+v", rep.Differences, want, rep)
	}
	if m.fetched.Load() != 0 {
		t.Fatalf("verify without --repair fetched %d bytes", m.fetched.Load())
	}
	logPath := filepath.Join(t.TempDir(), "state", RepairLogName)
	rep, err = run(t, m, sdir, Options{Repair: true, RepairLog: logPath})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Unrepaired() != 0 || rep.Differences[0].Repair != RepairDone || rep.FetchedBytes != mib || m.fetched.Load() != mib || rep.RepairedBytes != mib {
		t.Fatalf("repair: %+v (server sent %d bytes)", rep, m.fetched.Load())
	}
	recs := readRepairLog(t, logPath)
	if len(recs) != 1 || recs[0].Offset != want.Offset || recs[0].Length != mib || recs[0].FileOffset != 2*mib || recs[0].Segment != want.Segment {
		t.Fatalf("repairs.log %+v", recs)
	}
	rep, err = run(t, m, sdir, Options{Repair: true, RepairLog: logPath})
	if err != nil || len(rep.Differences) != 0 || rep.MatchedBytes != total || m.fetched.Load() != mib {
		t.Fatalf("after repair: %v %+v", err, rep)
	}
	if len(readRepairLog(t, logPath)) != 1 {
		t.Fatal("a run with nothing to repair wrote to the log")
	}
}

func readRepairLog(t *testing.T, path string) []repairRecord {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var recs []repairRecord
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r repairRecord
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("repairs.log line %q: %v", sc.Text(), err)
		}
		recs = append(recs, r)
	}
	return recs
}

// TestLiveBlockNotRepaired: a difference in the block holding the master's
// end (a partial block) is reported, never written.
func TestLiveBlockNotRepaired(t *testing.T) {
	const total = testSeg + 2*mib + 4096
	mdir, sdir := pair(t, total)
	m := startTestMaster(t, mdir, testSeg, total)
	flip(t, sdir, total-10)
	before, _ := os.ReadFile(filepath.Join(sdir, "00000000000008388608"))
	rep, err := run(t, m, sdir, Options{Repair: true, RepairLog: filepath.Join(t.TempDir(), RepairLogName)})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Differences) != 1 || rep.Differences[0].Repair != repairPartial || rep.Unrepaired() != 1 || m.fetched.Load() != 0 {
		t.Fatalf("%+v (fetched %d)", rep, m.fetched.Load())
	}
	after, _ := os.ReadFile(filepath.Join(sdir, "00000000000008388608"))
	if string(before) != string(after) {
		t.Fatal("the live block was written")
	}
}

// TestNotCompared: every byte of the slave's range is compared or listed
// with its reason.
func TestNotCompared(t *testing.T) {
	const total = 4 * testSeg
	mdir, sdir := pair(t, total)
	m := startTestMaster(t, mdir, testSeg, 3*testSeg+mib) // the master is behind
	m.skipBase[0] = true                                  // retention removed its first segment
	m.covered[2*testSeg] = 2*testSeg + 5*mib              // not hashed past this yet
	rep, err := run(t, m, sdir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := []Skipped{
		{Range{0, testSeg, "00000000000000000000"}, NotMasterSegment},
		{Range{2*testSeg + 5*mib, 3 * mib, "00000000000016777216"}, NotHashed},
		{Range{3*testSeg + mib, 7 * mib, "00000000000025165824"}, NotMasterEnd},
	}
	if len(rep.NotCompared) != len(want) {
		t.Fatalf("not compared %+v, want %+v", rep.NotCompared, want)
	}
	for i := range want {
		if rep.NotCompared[i] != want[i] {
			t.Fatalf("not compared %+v, want %+v", rep.NotCompared, want)
		}
	}
	if rep.ComparedBytes+rep.NotComparedSize != total || rep.ComparedBytes != testSeg+5*mib+mib || len(rep.Differences) != 0 {
		t.Fatalf("%+v", rep)
	}
}

// TestBadMaster: a master whose segment size differs from the slave's
// layout is refused before anything is compared.
func TestBadMaster(t *testing.T) {
	mdir, sdir := pair(t, testSeg)
	m := startTestMaster(t, mdir, testSeg, testSeg)
	m.segSize = 2 * testSeg
	_, err := run(t, m, sdir, Options{})
	if !errors.Is(err, ErrBadMaster) {
		t.Fatalf("err %v, want ErrBadMaster", err)
	}
}

// TestRate: reading is held to the rate (a lower bound: never faster).
func TestRate(t *testing.T) {
	const total = 8 * mib
	mdir, sdir := pair(t, total)
	m := startTestMaster(t, mdir, testSeg, total)
	t0 := time.Now()
	var last Progress
	rep, err := run(t, m, sdir, Options{Rate: 32 * mib, Chunk: 2 * mib, Progress: func(p Progress) { last = p }})
	if err != nil || rep.MatchedBytes != total {
		t.Fatal(err, rep)
	}
	if took := time.Since(t0); took < 240*time.Millisecond {
		t.Fatalf("8 MiB at 32 MiB/s took %v", took)
	}
	if last.Done != total || last.Total != total {
		t.Fatalf("last progress %+v", last)
	}
}
