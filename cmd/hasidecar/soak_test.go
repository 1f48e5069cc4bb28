package main

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hasidecar/hasidecar/cmd/hasidecar/internal/loadgen"
	"github.com/hasidecar/hasidecar/cmd/hasidecar/internal/spawn"
	"github.com/hasidecar/hasidecar/plugins/rocketmq"
	"github.com/hasidecar/hasidecar/sidecar/ack"
	"github.com/hasidecar/hasidecar/sidecar/ackclient"
	"github.com/hasidecar/hasidecar/sidecar/faultproxy"
	"github.com/hasidecar/hasidecar/sidecar/sidecartest"
)

// goWriter appends RocketMQ records in-process with several workers, each
// making every append a synchronous commit through the ack socket, and
// records every offset that got OK: the evidence the soak checks.
type goWriter struct {
	w      loadgen.Appender
	sock   string
	cancel context.CancelFunc
	wg     sync.WaitGroup

	appendMu sync.Mutex // the broker's put-message lock
	appended int64      // appends begun, under appendMu

	clMu sync.Mutex
	cl   *ackclient.Client

	resMu  sync.Mutex
	okMax  int64
	ok     int64
	status map[string]int64
}

func startGoWriter(t *testing.T, dir, sock string, workers int) (*goWriter, error) {
	w, err := rocketmq.OpenWriter(nil, dir, rocketmq.WriterOptions{SegmentSize: faultSeg})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(t.Context())
	g := &goWriter{w: loadgen.NewRocketMQ(w), sock: sock, cancel: cancel, status: map[string]int64{}}
	for range workers {
		g.wg.Go(func() { g.run(ctx) })
	}
	return g, nil
}

// stop ends the workers, waits for them and closes the writer cleanly.
func (g *goWriter) stop() error {
	g.cancel()
	g.wg.Wait()
	g.clMu.Lock()
	if g.cl != nil {
		g.cl.Close()
	}
	g.clMu.Unlock()
	return g.w.Close()
}

func (g *goWriter) run(ctx context.Context) {
	body := make([]byte, 1024)
	for ctx.Err() == nil {
		end, err := g.append(body)
		if err != nil {
			g.count("APPEND_ERROR")
			return
		}
		if !g.wait(ctx, end) {
			// NOT_AVAILABLE and errors answer at once: back off instead of
			// filling the disk at full speed while the slave is away.
			spawn.SleepUntil(ctx, time.Now().Add(20*time.Millisecond))
		}
		spawn.SleepUntil(ctx, time.Now().Add(2*time.Millisecond)) // at most ~2000 appends/s over 4 workers
	}
}

func (g *goWriter) append(body []byte) (int64, error) {
	g.appendMu.Lock()
	defer g.appendMu.Unlock()
	g.appended++
	n := g.appended
	body[n%int64(len(body))] = byte(n) // every record's bytes differ
	return g.w.Append(body)
}

// client returns the shared ack client, dialling a new one after a master
// restart broke the old one.
func (g *goWriter) client(ctx context.Context) *ackclient.Client {
	g.clMu.Lock()
	defer g.clMu.Unlock()
	if g.cl == nil {
		dctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		cl, err := ackclient.Dial(dctx, g.sock)
		if err != nil {
			return nil
		}
		g.cl = cl
	}
	return g.cl
}

func (g *goWriter) drop(cl *ackclient.Client) {
	g.clMu.Lock()
	defer g.clMu.Unlock()
	if g.cl == cl {
		cl.Close()
		g.cl = nil
	}
}

// wait makes end a synchronous commit; true if it got OK.
func (g *goWriter) wait(ctx context.Context, end int64) bool {
	cl := g.client(ctx)
	if cl == nil {
		g.count("NO_SOCKET") // the master is down
		return false
	}
	wctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	res, err := cl.Wait(wctx, end)
	if err != nil {
		if ctx.Err() == nil {
			g.drop(cl)
			g.count("ERROR")
		}
		return false
	}
	if res.Status == ack.OK {
		g.resMu.Lock()
		g.ok++
		g.okMax = max(g.okMax, end)
		g.resMu.Unlock()
	}
	g.count(res.Status.String())
	return res.Status == ack.OK
}

func (g *goWriter) count(s string) {
	g.resMu.Lock()
	defer g.resMu.Unlock()
	g.status[s]++
}

// soak is the state of one soak run.
type soak struct {
	t      *testing.T
	c      *cluster
	px     *faultproxy.Proxy
	rng    *rand.Rand
	faults map[string]int
	levels map[string]int // slave starts per acknowledgement level

	reseeds int

	gw      *goWriter // the in-process writer, or nil
	pw      *proc     // the writer process, or nil
	okMax   int64     // highest OK offset over all finished Go writer runs
	okCount int64
	status  map[string]int64
	lost    int64 // OK offsets above a restarted slave's recovered end
}

var recoveredEnd = regexp.MustCompile(`slave recovered.*?end_offset[" :=]+(\d+)`)

// TestSoak runs a seeded random schedule of faults against a master, a
// slave behind a fault proxy and writers making synchronous commits, then
// checks that the directories are identical and that no offset that got OK
// is missing from the slave after its own SIGKILL and restart.
// It runs only with HASIDECAR_SOAK=<duration> (the package's end-to-end
// tests already fill CI's time budget; the fault tests cover each fault
// once); HASIDECAR_SOAK_SEED replays a schedule.
func TestSoak(t *testing.T) {
	v := os.Getenv("HASIDECAR_SOAK")
	if v == "" {
		t.Skip("set HASIDECAR_SOAK=<duration> to run the soak")
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		t.Fatalf("HASIDECAR_SOAK=%q: %v", v, err)
	}
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("HASIDECAR_SOAK_SEED"); v != "" {
		seed, _ = strconv.ParseUint(v, 10, 64)
	}
	t.Logf("soak seed %d (HASIDECAR_SOAK_SEED=%d replays it), duration %v", seed, seed, d)
	s := &soak{t: t, c: newCluster(t), rng: rand.New(rand.NewPCG(seed, 7)), faults: map[string]int{}, status: map[string]int64{},
		levels: map[string]int{}}
	if err := os.MkdirAll(s.c.mdir, 0o755); err != nil { // a kill_writer first needs a directory to look at
		t.Fatal(err)
	}
	s.startSoakMaster()
	s.px = startProxy(t, s.c)
	s.startSoakSlave()
	s.startWriter()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		s.step()
	}
	s.finish(seed)
}

// step injects one random fault, then lets the system run a random while.
func (s *soak) step() {
	kinds := []string{"proxy_cut_all", "proxy_cut_mid_frame", "proxy_cut_report", "proxy_stall", "proxy_throttle",
		"proxy_delay", "kill_master", "kill_slave", "kill_writer", "switch_writer",
		"rewrite_segment", "fd_exhaustion", "wait_flood"}
	k := kinds[s.rng.IntN(len(kinds))]
	s.faults[k]++
	s.t.Logf("fault: %s", k)
	hold := time.Duration(300+s.rng.IntN(1500)) * time.Millisecond
	switch k {
	case "proxy_cut_all":
		s.px.CutAll()
	case "proxy_cut_mid_frame":
		s.px.CutAfter(faultproxy.Down, 1+s.rng.Int64N(200<<10))
	case "proxy_cut_report":
		s.px.CutAfter(faultproxy.Up, 1+s.rng.Int64N(100))
	case "proxy_stall":
		s.px.Stall()
		s.pause(hold)
		s.px.Resume()
	case "proxy_throttle":
		s.px.Throttle(128<<10 + s.rng.Int64N(2<<20))
		s.pause(hold)
		s.px.Throttle(0)
	case "proxy_delay":
		s.px.SetDelay(time.Duration(1+s.rng.IntN(50)) * time.Millisecond)
		s.pause(hold)
		s.px.SetDelay(0)
	case "kill_master":
		s.c.master.kill()
		s.startSoakMaster()
	case "rewrite_segment":
		s.rewriteSegment()
	case "fd_exhaustion":
		s.exhaustDescriptors(hold)
	case "wait_flood":
		s.floodWaits()
	case "kill_slave":
		s.killSlave()
	case "kill_writer", "switch_writer":
		s.stopWriter(k == "kill_writer")
		s.startWriter()
	}
	s.pause(time.Duration(200+s.rng.IntN(1500)) * time.Millisecond)
}

// pause lets the system run; the schedule's own timing, not a condition.
func (s *soak) pause(d time.Duration) { spawn.SleepUntil(s.t.Context(), time.Now().Add(d)) }

// killSlave SIGKILLs the slave, restarts it and checks that everything
// that got OK before the kill is below its recovered end.
func (s *soak) killSlave() {
	okBefore := s.currentOKMax()
	s.c.slave.kill()
	s.startSoakSlave()
	var rec int64 = -1
	sidecartest.Eventually(s.t, 30*time.Second, "the restarted slave's recovery line", func() bool {
		m := recoveredEnd.FindStringSubmatch(s.c.slave.out.String())
		if m != nil {
			rec, _ = strconv.ParseInt(m[1], 10, 64)
		}
		return m != nil
	})
	if okBefore > rec {
		s.lost++
		s.t.Errorf("offset %d got OK but the slave recovered only to %d", okBefore, rec)
	}
}

func (s *soak) currentOKMax() int64 {
	m := s.okMax
	if s.gw != nil {
		s.gw.resMu.Lock()
		m = max(m, s.gw.okMax)
		s.gw.resMu.Unlock()
	}
	return m
}

// startWriter starts the in-process writer or a writer process at random.
func (s *soak) startWriter() {
	if s.rng.IntN(2) == 0 {
		gw, err := startGoWriter(s.t, s.c.mdir, s.c.sock, 4)
		if err != nil {
			s.t.Fatalf("open writer: %v", err)
		}
		s.gw = gw
		return
	}
	s.pw = start(s.t, "writer", "write", "--dir", s.c.mdir, "--segment-size", e2eSegment, "--ack-socket", s.c.sock,
		"--writers", "4", "--wait-timeout", "2s", "--rate", "2000", "--log-level", "error")
}

// stopWriter stops the current writer. kill SIGKILLs a writer process and
// leaves a torn record at its end, as a kill in the middle of a copy does;
// an in-process writer cannot be killed and is stopped cleanly.
func (s *soak) stopWriter(kill bool) {
	if s.gw != nil {
		s.gw.cancel()
		s.gw.wg.Wait()
		s.gw.resMu.Lock()
		s.okMax, s.okCount = max(s.okMax, s.gw.okMax), s.okCount+s.gw.ok
		for k, v := range s.gw.status {
			s.status[k] += v
		}
		s.gw.resMu.Unlock()
		if err := s.gw.stop(); err != nil {
			s.t.Errorf("close writer: %v", err)
		}
		s.gw = nil
		return
	}
	if kill {
		s.pw.kill()
		if end := validEnd(s.t, s.c.mdir); end%faultSeg != 0 {
			tearTail(s.t, s.c.mdir, end)
		}
	} else if err := s.pw.stop(); err != nil {
		s.t.Logf("writer process: %v: %s", err, tail(s.pw.out.String(), 300))
	}
	if m := regexp.MustCompile(`sync waits: .*`).FindString(s.pw.out.String()); m != "" {
		s.t.Logf("writer process: %s", m)
	}
	s.pw = nil
}

// finish ends the faults and the writer, waits for the slave, and checks.
func (s *soak) finish(seed uint64) {
	t := s.t
	s.px.Resume()
	s.px.Throttle(0)
	s.px.SetDelay(0)
	s.stopWriter(false)
	end := s.c.waitAckedValid()
	s.c.verifyExact()
	okMax := s.currentOKMax()
	s.c.slave.kill()
	s.startSoakSlave()
	var rec int64 = -1
	sidecartest.Eventually(t, 30*time.Second, "the final slave's recovery line", func() bool {
		m := recoveredEnd.FindStringSubmatch(s.c.slave.out.String())
		if m != nil {
			rec, _ = strconv.ParseInt(m[1], 10, 64)
		}
		return m != nil
	})
	if okMax > rec {
		s.lost++
		t.Errorf("offset %d got OK but the slave recovered only to %d", okMax, rec)
	}
	s.c.waitAckedValid()
	if err := s.c.slave.stop(); err != nil {
		t.Errorf("slave exit: %v", err)
	}
	compared, mismatched := compareDirs(t, s.c.mdir, s.c.sdir)
	s.c.verifyExact()
	var fk []string
	for k, v := range s.faults {
		fk = append(fk, fmt.Sprintf("%s=%d", k, v))
	}
	slices.Sort(fk)
	var st []string
	for k, v := range s.status {
		st = append(st, fmt.Sprintf("%s=%d", k, v))
	}
	slices.Sort(st)
	t.Logf("soak summary: seed=%d end=%d faults: %s | go-writer waits: %s | ok_offsets=%d max_ok=%d recovered_end=%d bytes_compared=%d mismatches=%d acked_but_lost=%d %s proxy=%+v",
		seed, end, strings.Join(fk, " "), strings.Join(st, " "), s.okCount, okMax, rec, compared, mismatched, s.lost, s.summaryExtra(), s.px.Stats())
	if mismatched != 0 || s.lost != 0 {
		t.Fatalf("mismatches %d, acked-but-lost %d", mismatched, s.lost)
	}
}

// compareDirs compares every file of a and b byte for byte and returns the
// bytes compared and the bytes that differ (a missing file counts whole).
func compareDirs(t *testing.T, a, b string) (compared, mismatched int64) {
	t.Helper()
	names := map[string]bool{}
	for _, d := range []string{a, b} {
		for _, e := range mustReadDir(t, d) {
			names[e.Name()] = true
		}
	}
	for n := range names {
		x, errA := os.ReadFile(filepath.Join(a, n))
		y, errB := os.ReadFile(filepath.Join(b, n))
		if errA != nil || errB != nil {
			mismatched += int64(max(len(x), len(y)))
			t.Errorf("file %s: %v / %v", n, errA, errB)
			continue
		}
		compared += int64(min(len(x), len(y)))
		mismatched += int64(abs(len(x) - len(y)))
		if !bytes.Equal(x, y) {
			for i := range min(len(x), len(y)) {
				if x[i] != y[i] {
					mismatched++
				}
			}
		}
	}
	return compared, mismatched
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
