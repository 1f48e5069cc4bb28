package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/hasidecar/hasidecar/applier"
	"github.com/hasidecar/hasidecar/cmd/hasidecar/internal/report"
	"github.com/hasidecar/hasidecar/sidecar/sidecartest"
)

// writeCount appends count records of body bytes to dir with the built-in
// writer and waits for it.
func writeCount(t *testing.T, dir, seg string, count, body int) {
	t.Helper()
	out, code := runBin(t, "write", "--dir", dir, "--segment-size", seg, "--count", strconv.Itoa(count),
		"--body-size", strconv.Itoa(body), "--log-level", "warn")
	if code != 0 {
		t.Fatalf("write exit %d:\n%s", code, out)
	}
}

// waitCaughtUp waits until the master holds at least min bytes and the
// slave acknowledged all of them, and returns the master's end.
func waitCaughtUp(t *testing.T, sock string, min int64) int64 {
	t.Helper()
	var end int64
	sidecartest.Eventually(t, 90*time.Second, "slave to acknowledge the master's whole end", func() bool {
		s := query(t, sock)
		if s == nil || s.MasterEnd < min {
			return false
		}
		end = s.MasterEnd
		return report.MaxAcked(s) == end
	})
	return end
}

// TestE2ETruncateDivergedOldMasterRejoins: an old master whose last 3 MB
// never reached the new master rejoins as a slave with
// --truncate-diverged; it is cut back to the last record both hold, the
// cut bytes are kept under its state directory identical to what it held,
// and it ends byte-identical to the new master.
func TestE2ETruncateDivergedOldMasterRejoins(t *testing.T) {
	const seg = "4MiB"
	c := newCluster(t)
	writeCount(t, c.mdir, seg, 6000, 1024) // what both hold: ~6.5 MB
	if err := os.MkdirAll(c.sdir, 0o755); err != nil {
		t.Fatal(err)
	}
	vfCopy(t, c.mdir, c.sdir)
	writeCount(t, c.sdir, seg, 2900, 1024) // the old master's tail: ~3 MB
	old := snapshotDir(t, c.sdir)
	writeCount(t, c.mdir, seg, 4000, 1024) // the new master moved on
	c.startMaster("--segment-size", seg)
	c.startSlave("--segment-size", seg, "--truncate-diverged", "--exit-on-refusal")
	waitCaughtUp(t, c.sock, 10000*1024)
	if err := c.slave.stop(); err != nil {
		t.Fatalf("slave exit: %v", err)
	}
	out, code := runBin(t, "verify", "--exact", "--segment-size", seg, c.mdir, c.sdir)
	if code != 0 {
		t.Fatalf("verify exit %d:\n%s", code, out)
	}
	cut := readCut(t, c.sdir+".hasidecar")
	if cut.Bytes < 3<<20-4096 || cut.OldEnd-cut.At != cut.Bytes {
		t.Fatalf("cut %+v: want the ~3 MB tail and what lay above the common point", cut)
	}
	for _, s := range cut.Segments {
		got, err := os.ReadFile(filepath.Join(cut.Dir, s.Name))
		if err != nil {
			t.Fatal(err)
		}
		pos := s.From - s.SegmentBase
		if want := old[s.Name]; int64(len(want)) < pos+int64(len(got)) || !bytes.Equal(got, want[pos:pos+int64(len(got))]) {
			t.Fatalf("kept %s [%d, %d) differs from what the old master held", s.Name, s.From, s.To)
		}
	}
	if !strings.Contains(c.slave.out.String(), "truncated the diverged replica") {
		t.Fatalf("the slave did not log the cut")
	}
}

func snapshotDir(t *testing.T, dir string) map[string][]byte {
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string][]byte{}
	for _, e := range ents {
		m[e.Name()] = readFile(t, filepath.Join(dir, e.Name()))
	}
	return m
}

// readCut returns the one cut directory's info.json under stateDir.
func readCut(t *testing.T, stateDir string) applier.Cut {
	t.Helper()
	dirs, _ := filepath.Glob(filepath.Join(stateDir, applier.CutPrefix+"*"))
	if len(dirs) != 1 {
		t.Fatalf("cut directories under %s: %v", stateDir, dirs)
	}
	var cut applier.Cut
	if err := json.Unmarshal(readFile(t, filepath.Join(dirs[0], applier.CutInfoName)), &cut); err != nil {
		t.Fatal(err)
	}
	cut.Dir = dirs[0]
	return cut
}

// TestE2EFlippedByteFarBelowTheEnd flips one byte of a running slave's
// disk 100 MB below its end: the scrub finds it (ERROR, state diverged,
// readiness failing, the mismatch metric), and after a restart the hello
// finds it too: the master refuses the slave as diverged, naming the block.
func TestE2EFlippedByteFarBelowTheEnd(t *testing.T) {
	const seg = "64MiB"
	c := newCluster(t)
	sm := freeAddr(t)
	writeCount(t, c.mdir, seg, 2000, 64<<10) // ~131 MB
	c.startMaster("--segment-size", seg)
	c.startSlave("--segment-size", seg, "--exit-on-refusal", "--scrub-rate", "256MiB", "--metrics-listen", sm)
	end := waitCaughtUp(t, c.sock, 2000*64<<10)
	at := end - 100<<20
	block := at - at%(1<<20)
	seg0 := filepath.Join(c.sdir, fmt.Sprintf("%020d", 0))
	vfPoke(t, seg0, at, 0x5a^readFile(t, seg0)[at])
	sidecartest.Eventually(t, 60*time.Second, "scrub to find the flipped byte", func() bool {
		v, ok := gauge(scrape(t, sm), "hasidecar_slave_scrub_mismatches_total")
		return ok && v >= 1
	})
	if v, ok := stateGauge(scrape(t, sm), "diverged"); !ok || v != 1 {
		t.Fatalf("slave state gauge diverged = %v (%v)", v, ok)
	}
	resp, err := http.Get("http://" + sm + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode == 200 {
		t.Fatalf("readyz 200 on a slave the scrub found diverged")
	}
	if s := c.slave.out.String(); !strings.Contains(s, "scrub found bytes that differ") || !strings.Contains(s, strconv.FormatInt(block, 10)) {
		t.Fatalf("no scrub ERROR naming the block at %d", block)
	}
	c.slave.stop()
	c.startSlave("--segment-size", seg, "--exit-on-refusal", "--scrub-rate", "0")
	err = c.slave.wait(60 * time.Second)
	if code := procExit(err); code != 78 {
		t.Fatalf("restarted slave exit %v (code %d), want 78 (refused)", err, code)
	}
	want := fmt.Sprintf("block [%d, %d) differs", block, block+1<<20)
	if s := c.slave.out.String(); !strings.Contains(s, "diverged") || !strings.Contains(s, want) {
		t.Fatalf("the refusal does not say %q", want)
	}
}

// stateGauge is hasidecar_slave_state{state=state}.
func stateGauge(fams map[string]*dto.MetricFamily, state string) (float64, bool) {
	f, ok := fams["hasidecar_slave_state"]
	if !ok {
		return 0, false
	}
	for _, m := range f.Metric {
		for _, l := range m.Label {
			if l.GetName() == "state" && l.GetValue() == state && m.Gauge != nil {
				return m.Gauge.GetValue(), true
			}
		}
	}
	return 0, false
}

func procExit(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	return -1
}
