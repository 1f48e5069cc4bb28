package main

import (
	"bytes"
	"github.com/hasidecar/hasidecar/cmd/hasidecar/internal/loadgen"
	"github.com/hasidecar/hasidecar/cmd/hasidecar/internal/report"
	"github.com/hasidecar/hasidecar/plugins"
	"github.com/hasidecar/hasidecar/sidecar/sidecartest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// End-to-end tests of storage layouts: the example crc32c plugin binary run
// by real master and slave processes (and SIGKILLed under them), the raw
// built-in layout, and layout mismatches refused before anything is written.

var (
	pluginOnce sync.Once
	pluginBin  string
	pluginErr  error
)

// crc32cPlugin builds the example plugin once, next to the hasidecar binary
// (TestMain removes that directory), with the same race setting.
func crc32cPlugin(t *testing.T) string {
	t.Helper()
	pluginOnce.Do(func() {
		path := filepath.Join(filepath.Dir(binPath), "hasidecar-layout-crc32c")
		args := []string{"build", "-o", path}
		if raceBuild {
			args = append(args, "-race")
		}
		args = append(args, "github.com/hasidecar/hasidecar/plugins/crc32c/cmd/hasidecar-layout-crc32c")
		if out, err := exec.Command("go", args...).CombinedOutput(); err != nil {
			pluginErr = err
			t.Logf("go build plugin:\n%s", out)
			return
		}
		pluginBin = path
	})
	if pluginErr != nil {
		t.Fatalf("build crc32c plugin: %v", pluginErr)
	}
	return pluginBin
}

// procStat is what /proc/PID/stat says about a process that runs path.
type procStat struct {
	pid, ppid int
}

// pluginProcs lists the live processes running the binary at path (zombies
// excluded: they are reaped by their parent, not running).
func pluginProcs(path string) []procStat {
	ents, _ := os.ReadDir("/proc")
	var out []procStat
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe"))
		if err != nil || strings.TrimSuffix(exe, " (deleted)") != path {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// "pid (comm) state ppid ...": comm may hold spaces or parentheses.
		f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
		if len(f) < 2 || f[0] == "Z" || f[0] == "X" {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		out = append(out, procStat{pid: pid, ppid: ppid})
	}
	return out
}

// childPlugin waits for the plugin process whose parent is p and returns its
// pid; a pid in not is skipped (an incarnation already killed).
func childPlugin(t *testing.T, plugin string, p *proc, not ...int) int {
	t.Helper()
	pid := 0
	sidecartest.Eventually(t, 20*time.Second, p.name+"'s layout plugin process", func() bool {
		for _, ps := range pluginProcs(plugin) {
			if ps.ppid == p.cmd.Process.Pid && !containsInt(not, ps.pid) {
				pid = ps.pid
				return true
			}
		}
		return false
	})
	return pid
}

func containsInt(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// reapPlugins registers a check, run after every process of the test is
// gone, that no plugin process outlived its host; stragglers are killed so
// they do not outlive the test either. Register it before starting hosts.
func reapPlugins(t *testing.T, plugin string) {
	t.Cleanup(func() {
		deadline := time.Now().Add(10 * time.Second)
		for {
			left := pluginProcs(plugin)
			if len(left) == 0 {
				return
			}
			if time.Now().After(deadline) {
				for _, ps := range left {
					syscall.Kill(ps.pid, syscall.SIGKILL)
				}
				t.Errorf("layout plugin processes outlived their hosts: %+v", left)
				return
			}
			time.Sleep(10 * time.Millisecond) // poll interval
		}
	})
}

// outputHas polls p's output for s.
func outputHas(t *testing.T, p *proc, s string) {
	t.Helper()
	sidecartest.Eventually(t, 20*time.Second, p.name+" to log "+strconv.Quote(s), func() bool { return strings.Contains(p.out.String(), s) })
}

// ackedBeyond waits until the slave acknowledged more than off and the
// master's end is past it too, and returns the acknowledged offset.
func (c *cluster) ackedBeyond(off int64) int64 {
	c.t.Helper()
	acked := int64(0)
	sidecartest.Eventually(c.t, 30*time.Second, "slave progress past "+strconv.FormatInt(off, 10), func() bool {
		s := query(c.t, c.sock)
		if s == nil {
			return false
		}
		acked = report.MaxAcked(s)
		return acked > off
	})
	return acked
}

// finishLayout is finish for any layout: wait for the writer's end to be
// acknowledged, stop both sidecars cleanly (so they stop their plugins), and
// compare the directories with the same layout flags.
func (c *cluster) finishLayout(layoutArgs ...string) int64 {
	c.t.Helper()
	if err := c.writer.wait(60 * time.Second); err != nil {
		c.t.Fatalf("writer: %v", err)
	}
	m := loadgen.EndPattern.FindStringSubmatch(c.writer.out.String())
	if m == nil {
		c.t.Fatalf("writer printed no end offset")
	}
	end, _ := strconv.ParseInt(m[1], 10, 64)
	c.waitAcked(end)
	if err := c.slave.stop(); err != nil {
		c.t.Errorf("slave exit: %v", err)
	}
	if err := c.master.stop(); err != nil {
		c.t.Errorf("master exit: %v", err)
	}
	args := append([]string{"verify", "--exact", "--segment-size", e2eSegment}, layoutArgs...)
	out, code := runBin(c.t, append(args, c.mdir, c.sdir)...)
	if code != 0 || !strings.Contains(out, "OK: ") {
		c.t.Fatalf("verify exit %d:\n%s", code, out)
	}
	// verify skips files its layout does not name: with the wrong layout it
	// would compare nothing and still say OK.
	compared := int64(-1)
	if m := verifyCompared.FindStringSubmatch(out); m != nil {
		compared, _ = strconv.ParseInt(m[1], 10, 64)
	}
	if compared < end {
		c.t.Fatalf("verify compared less than the writer's end %d:\n%s", end, out)
	}
	return end
}

var verifyCompared = regexp.MustCompile(`OK: \d+ segments, (\d+) bytes compared`)

func (c *cluster) startLayoutWriter(layout string, rate int, d time.Duration) {
	c.writer = start(c.t, "writer", "write", "--layout", layout, "--dir", c.mdir, "--segment-size", e2eSegment,
		"--rate", strconv.Itoa(rate), "--duration", d.String(), "--log-level", "warn")
}

// TestE2EPluginKilledMidRun replicates a live crc32c directory through the
// real plugin binary and SIGKILLs the plugin under the master, then under
// the slave: each host says what happened, restarts it, and replication
// resumes to an identical directory.
func TestE2EPluginKilledMidRun(t *testing.T) {
	plugin := crc32cPlugin(t)
	reapPlugins(t, plugin)
	c := newCluster(t)
	lay := []string{"--layout-plugin", plugin}
	c.startMaster(lay...)
	c.startSlave(lay...)
	// Stopped by SIGTERM once both kills are done; the duration is a cap.
	c.startLayoutWriter("crc32c", 2000, 30*time.Second)

	acked := c.ackedBeyond(1 << 20)
	mpid := childPlugin(t, plugin, c.master)
	if err := syscall.Kill(mpid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill master's plugin %d: %v", mpid, err)
	}
	outputHas(t, c.master, "layout plugin crashed")
	// The tailer's Scan that met the dead plugin got ErrUnavailable and paused
	// (a retry), rather than taking it for an end of data.
	outputHas(t, c.master, "scan segment; retrying")
	outputHas(t, c.master, "layout plugin restarted")
	childPlugin(t, plugin, c.master, mpid)
	acked = c.ackedBeyond(acked + 1<<20) // resumed: at least a segment more

	spid := childPlugin(t, plugin, c.slave)
	if err := syscall.Kill(spid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill slave's plugin %d: %v", spid, err)
	}
	// The slave notices at its next uncached call: naming the next segment.
	outputHas(t, c.slave, "layout plugin crashed")
	outputHas(t, c.slave, "layout plugin restarted")
	c.ackedBeyond(acked + 1<<20)
	if err := c.writer.stop(); err != nil {
		t.Fatalf("writer: %v", err)
	}

	end := c.finishLayout(lay...)
	if n := countFiles(t, c.sdir, "seg-"); end < 3<<20 || n < 4 {
		t.Fatalf("want several crc32c segments, got %d, end %d", n, end)
	}
	if strings.Contains(c.master.out.String(), "DIVERGENCE") {
		t.Fatalf("master reported a divergence across the plugin restart")
	}
}

// TestE2EPluginHungMidRun makes the master's plugin hang in Scan (the
// binary's test hook: Scan blocks while a file exists): after the call
// timeout the master says so, kills it and restarts it, and replication
// resumes to an identical directory.
//
// It waits out the host's default call timeout (5 s: the CLI has no flag for
// it), so -short skips it.
func TestE2EPluginHungMidRun(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out the 5 s plugin call timeout")
	}
	plugin := crc32cPlugin(t)
	reapPlugins(t, plugin)
	c := newCluster(t)
	lay := []string{"--layout-plugin", plugin}
	c.startSlave(lay...) // before the hook is in the environment: only the master's plugin hangs
	hang := filepath.Join(c.dir, "hang")
	t.Setenv("HASIDECAR_LAYOUT_TEST_HANG_FILE", hang)
	c.startMaster(lay...)
	c.startLayoutWriter("crc32c", 2000, 30*time.Second)
	acked := c.ackedBeyond(1 << 20)
	mpid := childPlugin(t, plugin, c.master)
	if err := os.WriteFile(hang, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	outputHas(t, c.master, "layout plugin hung; killed it")
	// Remove the hook before the restarted plugin's first Scan can see it.
	if err := os.Remove(hang); err != nil {
		t.Fatal(err)
	}
	outputHas(t, c.master, "layout plugin restarted")
	childPlugin(t, plugin, c.master, mpid)
	c.ackedBeyond(acked + 1<<20)
	if err := c.writer.stop(); err != nil {
		t.Fatalf("writer: %v", err)
	}
	c.finishLayout(lay...)
}

// TestE2EPluginCatchUp catches up a slave from a crc32c
// directory written beforehand, with the segment size given to the plugin.
func TestE2EPluginCatchUp(t *testing.T) {
	plugin := crc32cPlugin(t)
	reapPlugins(t, plugin)
	c := newCluster(t)
	out, code := runBin(t, "write", "--layout", "crc32c", "--dir", c.mdir, "--segment-size", e2eSegment, "--count", "3000", "--body-size", "700")
	if code != 0 {
		t.Fatalf("write: %s", out)
	}
	lay := []string{"--layout-plugin", plugin}
	c.startMaster(lay...)
	c.startSlave(lay...)
	c.startLayoutWriter("crc32c", 2000, time.Second) // and more on top, live
	c.finishLayout(lay...)
	if !strings.Contains(c.master.out.String(), "crc32c layout plugin starting") {
		t.Errorf("the plugin's own log line did not reach the master's log")
	}
}

func countFiles(t *testing.T, dir, prefix string) int {
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), prefix) {
			n++
		}
	}
	return n
}

// TestE2ERawLayout replicates a live raw directory (write(2) appends, not
// preallocated) with the built-in raw layout on both sides.
func TestE2ERawLayout(t *testing.T) {
	c := newCluster(t)
	lay := []string{"--layout", "raw"}
	c.startMaster(lay...)
	c.startSlave(lay...)
	c.startLayoutWriter("raw", 3000, 2*time.Second)
	end := c.finishLayout(lay...)
	if n := segmentCount(t, c.sdir); n < 3 || end < 3<<20 {
		t.Fatalf("want several raw segments, got %d, end %d", n, end)
	}
	// The last raw segment is not preallocated: its size is its valid end.
	last := end - end%(1<<20)
	st, err := os.Stat(filepath.Join(c.sdir, plugins.OffsetName(last)))
	if err != nil || st.Size() != end-last {
		t.Fatalf("last raw segment: %v, size want %d", err, end-last)
	}
}

// TestE2ELayoutMismatchRefused: a slave whose layout or segment size differs
// from the master's is refused with a clear error and writes nothing.
func TestE2ELayoutMismatchRefused(t *testing.T) {
	cases := []struct {
		name  string
		slave func(t *testing.T) []string
		want  string
	}{
		{"raw_vs_rocketmq", func(*testing.T) []string { return []string{"--layout", "raw"} },
			"slave layout raw/1048576/prealloc=false differs from master layout rocketmq/1048576/prealloc=true"},
		{"segment_size", func(*testing.T) []string { return []string{"--segment-size", "2MiB"} },
			"slave layout rocketmq/2097152/prealloc=true differs from master layout rocketmq/1048576/prealloc=true"},
		{"plugin_vs_rocketmq", func(t *testing.T) []string { return []string{"--layout-plugin", crc32cPlugin(t)} },
			"slave layout crc32c/1048576/prealloc=true differs from master layout rocketmq/1048576/prealloc=true"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			reapPlugins(t, crc32cPlugin(t))
			c := newCluster(t)
			if out, code := runBin(t, "write", "--dir", c.mdir, "--segment-size", e2eSegment, "--count", "1500"); code != 0 {
				t.Fatalf("write: %s", out)
			}
			c.startMaster()
			c.startSlave(append(tc.slave(t), "--exit-on-refusal")...)
			err := c.slave.wait(30 * time.Second)
			if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 78 {
				t.Fatalf("slave exit %v, want status 78 (refused)", err)
			}
			out := c.slave.out.String()
			if !strings.Contains(out, "master refused this slave") || !strings.Contains(out, tc.want) {
				t.Fatalf("slave log lacks the refusal %q:\n%s", tc.want, out)
			}
			if ents, err := os.ReadDir(c.sdir); err != nil || len(ents) != 0 {
				t.Fatalf("slave directory after a refusal: %v, %v; want it empty", names(ents), err)
			}
			if err := c.master.stop(); err != nil {
				t.Errorf("master exit: %v", err)
			}
		})
	}
}

// TestE2EPluginDiesWithItsHost SIGKILLs a master that runs a layout plugin:
// the plugin must not live on as an orphan.
func TestE2EPluginDiesWithItsHost(t *testing.T) {
	plugin := crc32cPlugin(t)
	c := newCluster(t)
	c.startMaster("--layout-plugin", plugin)
	pid := childPlugin(t, plugin, c.master)
	c.master.kill()
	deadline := time.Now().Add(5 * time.Second)
	for syscall.Kill(pid, 0) == nil && !isZombie(pid) {
		if time.Now().After(deadline) {
			syscall.Kill(pid, syscall.SIGKILL)
			// go-plugin's server does not exit when its host's connection
			// goes away: only the parent-death signal plugins/external
			// sets on the plugin process ends it.
			t.Fatalf("layout plugin %d outlived its SIGKILLed host (killed it now)", pid)
		}
		time.Sleep(10 * time.Millisecond) // poll interval
	}
}

// isZombie reports whether pid has exited and waits for its parent to reap it.
func isZombie(pid int) bool {
	stat, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return true
	}
	f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
	return len(f) > 0 && (f[0] == "Z" || f[0] == "X")
}

// TestWriteCrc32cResumes: `write --layout crc32c` continues after the last
// valid record of an existing directory, and the records it wrote are the
// ones the plugin's layout finds (the catch-up tests then replicate them).
func TestWriteCrc32cResumes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "wal")
	var ends []int64
	for range 2 {
		out, code := runBin(t, "write", "--layout", "crc32c", "--dir", dir, "--segment-size", "64KiB", "--count", "100", "--body-size", "1000")
		m := loadgen.EndPattern.FindStringSubmatch(out)
		if code != 0 || m == nil {
			t.Fatalf("write exit %d:\n%s", code, out)
		}
		end, _ := strconv.ParseInt(m[1], 10, 64)
		ends = append(ends, end)
	}
	// 1008-byte records, 65 to a 64 KiB segment (the rest is sealed): 100
	// records end at 65536 + 35*1008, 200 at 3*65536 + 5*1008.
	if ends[0] != 65536+35*1008 || ends[1] != 3*65536+5*1008 {
		t.Fatalf("ends %v, want [%d %d]", ends, 65536+35*1008, 3*65536+5*1008)
	}
	if n := countFiles(t, dir, "seg-"); n != 4 {
		t.Fatalf("%d segments, want 4", n)
	}
	if out, code := runBin(t, "write", "--layout", "nosuch", "--dir", dir); code != 64 {
		t.Fatalf("unknown layout: exit %d, want 64:\n%s", code, out)
	}
}
