package main

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hasidecar/hasidecar/plugins"
	"github.com/hasidecar/hasidecar/sidecar/onlineverify"
	"github.com/hasidecar/hasidecar/sidecar/sidecartest"
)

// voSeg is the segment size of the online-verify test: small segments, so
// that 200 MB span several.
const voSeg = 64 << 20

// voDoc is the part of `verify --online --json` the tests read.
type voDoc struct {
	Verdict string `json:"verdict"`
	Error   string `json:"error"`
	onlineverify.Report
}

// verifyOnline runs `verify --online --json` of the real binary and
// returns its exit code, its JSON and its stderr.
func verifyOnline(t *testing.T, master, dir string, extra ...string) (int, voDoc, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	args := append([]string{"verify", "--online", "--master", master, "--dir", dir, "--rate", "0", "--json"}, extra...)
	cmd := exec.CommandContext(ctx, binPath, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%v: %v", args, err)
	}
	var d voDoc
	if err := json.Unmarshal(out, &d); err != nil {
		t.Fatalf("%v: exit %d, not one JSON object: %v\n%s\n%s", args, code, err, out, stderr.String())
	}
	return code, d, stderr.String()
}

// TestE2EVerifyOnlineFlippedByteRepaired: a master and a slave of the real
// binary replicate ~200 MB; with the slave stopped, its copy verifies as
// identical online (exit 0); one byte flipped 100 MB below its end is named
// by its block (exit 2); --repair fetches exactly that block (1 MiB, by
// the master's own count of bytes sent) and logs it; then the online and the offline verify both find the
// directories identical.
func TestE2EVerifyOnlineFlippedByteRepaired(t *testing.T) {
	c := newCluster(t)
	seg := strconv.Itoa(voSeg)
	out, code := runBin(t, "write", "--dir", c.mdir, "--segment-size", seg, "--count", "3200", "--body-size", "65536", "--log-level", "warn")
	if code != 0 {
		t.Fatalf("write: exit %d\n%s", code, out)
	}
	mx := freeAddr(t)
	c.master = start(t, "master", "master", "--dir", c.mdir, "--listen", c.addr, "--segment-size", seg, "--ack-socket", c.sock, "--metrics-listen", mx)
	c.slave = start(t, "slave", "slave", "--dir", c.sdir, "--master", c.addr, "--segment-size", seg, "--max-backoff", "300ms")
	var end int64
	sidecartest.Eventually(t, 90*time.Second, "slave to acknowledge the master's end", func() bool {
		s := query(t, c.sock)
		if s == nil || s.MasterEnd < 200e6 || len(s.Slaves) != 1 {
			return false
		}
		end = s.MasterEnd
		return s.Slaves[0].Acked >= end
	})
	if err := c.slave.stop(); err != nil {
		t.Fatalf("slave exit: %v", err)
	}
	var d voDoc
	sidecartest.Eventually(t, 60*time.Second, "an online verify comparing every byte", func() bool {
		code, d, _ = verifyOnline(t, c.addr, c.sdir)
		return code == 0 && d.NotComparedSize == 0
	})
	if d.Verdict != "identical" || d.ComparedBytes != end || d.MatchedBytes != end || d.LocalEndFrom != "checkpoint" {
		t.Fatalf("matching pair: %+v", d)
	}

	bad := end - 100_000_000
	segBase := bad - bad%voSeg
	name := plugins.OffsetName(segBase)
	vfPoke(t, filepath.Join(c.sdir, name), bad-segBase, readByte(t, filepath.Join(c.sdir, name), bad-segBase)^0x5a)
	block := segBase + (bad-segBase)/(1<<20)*(1<<20)
	code, d, _ = verifyOnline(t, c.addr, c.sdir)
	want := onlineverify.Range{Offset: block, Length: 1 << 20, Segment: name}
	if code != 2 || d.Verdict != "different" || len(d.Differences) != 1 || d.Differences[0].Range != want || d.FetchedBytes != 0 {
		t.Fatalf("flipped byte at %d: exit %d, %+v; want the difference %+v", bad, code, d, want)
	}
	text, code := runBin(t, "verify", "--online", "--master", c.addr, "--dir", c.sdir, "--rate", "0")
	if code != 2 || !strings.Contains(text, "DIFFERS "+name+" ["+strconv.FormatInt(block, 10)+", ") {
		t.Fatalf("text report: exit %d\n%s", code, text)
	}

	sent := func() float64 {
		v, ok := gauge(scrape(t, mx), "hasidecar_master_digest_fetched_bytes_total")
		if !ok {
			t.Fatal("no hasidecar_master_digest_fetched_bytes_total on the master")
		}
		return v
	}
	before := sent()
	code, d, _ = verifyOnline(t, c.addr, c.sdir, "--repair")
	if code != 0 || d.Verdict != "repaired" || d.FetchedBytes != 1<<20 || d.RepairedBytes != 1<<20 || d.Differences[0].Repair != onlineverify.RepairDone {
		t.Fatalf("repair: exit %d, %+v", code, d)
	}
	if got := sent() - before; got != 1<<20 {
		t.Fatalf("the master sent %v bytes for the repair, want one block (1 MiB)", got)
	}
	if n := countLines(t, filepath.Join(c.sdir+".hasidecar", onlineverify.RepairLogName)); n != 1 {
		t.Fatalf("repairs.log has %d records, want 1", n)
	}
	code, d, _ = verifyOnline(t, c.addr, c.sdir)
	if code != 0 || d.Verdict != "identical" || d.MatchedBytes != end {
		t.Fatalf("after repair: exit %d, %+v", code, d)
	}
	if out, code := runBin(t, "verify", c.mdir, c.sdir); code != 0 {
		t.Fatalf("offline verify after repair: exit %d\n%s", code, out)
	}
}

// TestE2EVerifyOnlineNoMaster: nothing listening is an error (exit 1),
// never a verdict.
func TestE2EVerifyOnlineNoMaster(t *testing.T) {
	_, sdir, _ := vfFill(t)
	code, d, _ := verifyOnline(t, freeAddr(t), sdir, "--segment-size", strconv.Itoa(vfSeg))
	if code != 1 || d.Verdict != "error" || d.Error == "" {
		t.Fatalf("exit %d, %+v", code, d)
	}
}

func readByte(t *testing.T, path string, pos int64) byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var b [1]byte
	if _, err := f.ReadAt(b[:], pos); err != nil {
		t.Fatal(err)
	}
	return b[0]
}

func countLines(t *testing.T, path string) int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n := 0
	for sc := bufio.NewScanner(f); sc.Scan(); {
		n++
	}
	return n
}
