package onlineverify

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// hookSource is the real client with a hook run on each fetch's answer:
// how a test makes the world change between the comparison and the repair.
type hookSource struct {
	SourceCloser
	onFetch func(from, to int64, data []byte) []byte
}

func (h hookSource) Fetch(from, to int64) ([]byte, error) {
	data, err := h.SourceCloser.Fetch(from, to)
	if err != nil {
		return nil, err
	}
	return h.onFetch(from, to, data), nil
}

func runHooked(t *testing.T, m *testMaster, sdir, logPath string, onFetch func(from, to int64, data []byte) []byte) *Report {
	t.Helper()
	rep, err := runVia(t, m, sdir, Options{Repair: true, RepairLog: logPath}, func(s SourceCloser) Source { return hookSource{s, onFetch} })
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// TestRepairNeverWritesAMatchingBlock: the block is put right between the
// comparison and the repair; repair reads it again, finds it matching and
// writes nothing (no repairs log either).
func TestRepairNeverWritesAMatchingBlock(t *testing.T) {
	mdir, sdir := pair(t, 2*testSeg)
	m := startTestMaster(t, mdir, testSeg, 2*testSeg)
	flip(t, sdir, 3*mib+5)
	logPath := filepath.Join(t.TempDir(), RepairLogName)
	path := filepath.Join(sdir, "00000000000000000000")
	var mtime time.Time
	rep := runHooked(t, m, sdir, logPath, func(from, to int64, data []byte) []byte {
		flip(t, sdir, 3*mib+5) // someone else repaired it
		st, _ := os.Stat(path)
		mtime = st.ModTime()
		return data
	})
	if len(rep.Differences) != 1 || rep.Differences[0].Repair != repairMatchNow || rep.RepairedBytes != 0 || rep.Unrepaired() != 1 {
		t.Fatalf("%+v", rep)
	}
	if st, _ := os.Stat(path); !st.ModTime().Equal(mtime) {
		t.Fatal("the matching block was written")
	}
	if _, err := os.Stat(logPath); !os.IsNotExist(err) {
		t.Fatalf("repairs log exists (%v) though nothing was repaired", err)
	}
}

// TestRepairRefusesChangedMasterBytes: bytes fetched whose CRC is not the
// one compared (the master's file changed since it hashed it) are not
// written.
func TestRepairRefusesChangedMasterBytes(t *testing.T) {
	mdir, sdir := pair(t, 2*testSeg)
	m := startTestMaster(t, mdir, testSeg, 2*testSeg)
	flip(t, sdir, testSeg+mib)
	before, _ := os.ReadFile(filepath.Join(sdir, "00000000000008388608"))
	rep := runHooked(t, m, sdir, filepath.Join(t.TempDir(), RepairLogName), func(from, to int64, data []byte) []byte {
		data[0] ^= 1
		return data
	})
	if len(rep.Differences) != 1 || rep.Differences[0].Repair != repairChanged || rep.RepairedBytes != 0 {
		t.Fatalf("%+v", rep)
	}
	if after, _ := os.ReadFile(filepath.Join(sdir, "00000000000008388608")); string(after) != string(before) {
		t.Fatal("bytes that do not match the compared digest were written")
	}
}

// TestShortFileRepaired: a segment file cut short inside the slave's range
// differs from the cut on (the missing bytes cannot match), and repair
// writes the missing whole blocks back.
func TestShortFileRepaired(t *testing.T) {
	mdir, sdir := pair(t, 2*testSeg+mib)
	m := startTestMaster(t, mdir, testSeg, 2*testSeg+mib)
	if err := os.Truncate(filepath.Join(sdir, "00000000000008388608"), 5*mib+100); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(t.TempDir(), RepairLogName)
	rep, err := run(t, m, sdir, Options{Repair: true, RepairLog: logPath})
	if err != nil {
		t.Fatal(err)
	}
	want := Range{Offset: testSeg + 5*mib, Length: 3 * mib, Segment: "00000000000008388608"}
	if len(rep.Differences) != 1 || rep.Differences[0].Range != want || rep.Differences[0].Repair != RepairDone || rep.FetchedBytes != 3*mib {
		t.Fatalf("%+v, want the difference %+v repaired", rep, want)
	}
	a, _ := os.ReadFile(filepath.Join(mdir, "00000000000008388608"))
	b, _ := os.ReadFile(filepath.Join(sdir, "00000000000008388608"))
	if string(a) != string(b) {
		t.Fatal("the repaired file differs from the master's")
	}
}
