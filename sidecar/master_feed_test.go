package sidecar

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hasidecar/hasidecar/sidecar/lineage"
	"github.com/hasidecar/hasidecar/sidecar/sidecartest"
)

// runLineageMaster runs a master over dir with its lineage in stateDir
// and stops it (and closes the store) when the returned func is called.
func runLineageMaster(t *testing.T, dir, stateDir string) (*testMaster, *lineage.Store, func()) {
	t.Helper()
	log := testLogger(t)
	st, err := lineage.Open(log.Named("store"), stateDir)
	if err != nil {
		t.Fatal(err)
	}
	tm := startMasterWith(t, dir, lineageSeg, MasterConfig{Lineage: st, Dir: dir}, log)
	return tm, st, func() {
		tm.stop()
		if err := st.Close(); err != nil {
			t.Errorf("close lineage: %v", err)
		}
	}
}

func TestLineageSurvivesARestartWithoutRehashingSealedSegments(t *testing.T) {
	d := t.TempDir()
	dir, state := filepath.Join(d, "master"), filepath.Join(d, "lineage")
	end := writeRecords(t, dir, lineageSeg, 45, 256<<10)
	tm, _, stop := runLineageMaster(t, dir, state)
	waitHashed(t, tm, end)
	if h := tm.m.Stats().Lineage.Hashed; h != end {
		t.Fatalf("first run hashed %d bytes, want %d", h, end)
	}
	stop()

	tm, st, stop := runLineageMaster(t, dir, state)
	defer stop()
	waitHashed(t, tm, end)
	ls := tm.m.Stats().Lineage
	// Only the live segment's partial block lived in memory alone.
	if ls.Hashed >= lineage.BlockSize || ls.Rehashed != 0 {
		t.Fatalf("restart hashed %d bytes and re-hashed %d segments; want less than one block and none", ls.Hashed, ls.Rehashed)
	}
	checkLineage(t, st, dirBytes(t, dir, testLayout(t, lineageSeg), end))
}

func TestLineageRehashesASegmentChangedWhileDown(t *testing.T) {
	d := t.TempDir()
	dir, state := filepath.Join(d, "master"), filepath.Join(d, "lineage")
	end := writeRecords(t, dir, lineageSeg, 45, 256<<10)
	tm, _, stop := runLineageMaster(t, dir, state)
	waitHashed(t, tm, end)
	stop()
	name := filepath.Join(dir, testLayout(t, lineageSeg).SegmentName(lineageSeg))
	later := time.Now().Add(time.Hour)
	if err := os.Chtimes(name, later, later); err != nil {
		t.Fatal(err)
	}

	tm, st, stop := runLineageMaster(t, dir, state)
	defer stop()
	waitHashed(t, tm, end)
	ls := tm.m.Stats().Lineage
	if ls.Rehashed != 1 || ls.Hashed < lineageSeg {
		t.Fatalf("re-hashed %d segments, %d bytes; want segment 1 hashed again", ls.Rehashed, ls.Hashed)
	}
	checkLineage(t, st, dirBytes(t, dir, testLayout(t, lineageSeg), end))
}

func TestLineageFollowsARewriteOfTheLiveSegment(t *testing.T) {
	d := t.TempDir()
	dir, state := filepath.Join(d, "master"), filepath.Join(d, "lineage")
	end := writeRecords(t, dir, lineageSeg, 10, 100<<10)
	tm, st, stop := runLineageMaster(t, dir, state)
	defer stop()
	waitHashed(t, tm, end)

	alt := filepath.Join(d, "alt")
	newEnd := writeRecords(t, alt, lineageSeg, 12, 100<<10+1)
	name := testLayout(t, lineageSeg).SegmentName(0)
	if err := os.Rename(filepath.Join(alt, name), filepath.Join(dir, name)); err != nil {
		t.Fatal(err)
	}
	want := dirBytes(t, dir, testLayout(t, lineageSeg), newEnd)
	sidecartest.Eventually(t, 10*time.Second, "lineage of the new bytes", func() bool {
		s := tm.m.Stats()
		if s.Diverged.Count == 0 || s.End != newEnd || s.Lineage.Covered != newEnd {
			return false
		}
		got, err := st.Blocks(0, 0, newEnd)
		return err == nil && equalCRCs(got, want)
	})
}

func TestLineageForgetsDeletedSegments(t *testing.T) {
	d := t.TempDir()
	dir, state := filepath.Join(d, "master"), filepath.Join(d, "lineage")
	end := writeRecords(t, dir, lineageSeg, 45, 256<<10)
	tm, st, stop := runLineageMaster(t, dir, state)
	defer stop()
	waitHashed(t, tm, end)
	name := testLayout(t, lineageSeg).SegmentName(0)
	if err := os.Remove(filepath.Join(dir, name)); err != nil {
		t.Fatal(err)
	}
	sidecartest.Eventually(t, 10*time.Second, "lineage of the deleted segment forgotten", func() bool {
		segs := st.Segments()
		return len(segs) == 2 && segs[0].Base == lineageSeg
	})
	if _, err := os.Stat(filepath.Join(state, name+lineage.Ext)); !os.IsNotExist(err) {
		t.Fatalf("lineage file of the deleted segment: %v, want it gone", err)
	}
}

// checkLineage compares every block CRC of the store with data's.
func checkLineage(t *testing.T, st *lineage.Store, data []byte) {
	t.Helper()
	end := int64(len(data))
	for base := int64(0); base < end; base += lineageSeg {
		got, err := st.Blocks(base, base, min(base+lineageSeg, end))
		if err != nil {
			t.Fatal(err)
		}
		if !equalCRCs(got, data[base:min(base+lineageSeg, end)]) {
			t.Fatalf("lineage of segment %d differs from its bytes", base)
		}
	}
}

// equalCRCs reports whether crcs are the block CRCs of data (the last
// block partial).
func equalCRCs(crcs []uint32, data []byte) bool {
	n := (len(data) + lineage.BlockSize - 1) / lineage.BlockSize
	if len(crcs) != n {
		return false
	}
	for i, c := range crcs {
		if c != lineage.BlockCRC(data[i*lineage.BlockSize:min((i+1)*lineage.BlockSize, len(data))]) {
			return false
		}
	}
	return true
}
