package external_test

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/hasidecar/hasidecar/applier"
	"github.com/hasidecar/hasidecar/plugins"
	"github.com/hasidecar/hasidecar/plugins/crc32c"
	"github.com/hasidecar/hasidecar/plugins/external"
	"github.com/hasidecar/hasidecar/sidecar"
	"github.com/hasidecar/hasidecar/sidecar/ack"
	"github.com/hasidecar/hasidecar/sidecar/sidecartest"
	"github.com/hasidecar/hasidecar/tailer"
)

// Replication throughput through the plugin boundary: the same crc32c
// directory replicated by an in-process master (tailer + sender) and slave
// (receiver + applier) over loopback TCP, once with the layout in-process
// (crc32c.New) and once with the real plugin binary on both sides
// (external.Start, one plugin process per side, as two sidecars would run).
//
// Each iteration starts a fresh master over the existing directory and an
// empty slave, so the master's tailer finds the end of every segment through
// the layout while the slave catches up: the plugin's cost is on the path.
// The paired sub-benchmark runs both in every iteration (ABBA) and reports
// both throughputs and the plugin's as a percentage of the in-process one:
// the figure to read on a shared machine.
//
//	go test -run XXX -bench Replicate -benchtime 3x ./plugins/external/

const (
	replSegSize = 16 << 20
	replTotal   = 128 << 20
	replPayload = 1016 // 1 KiB records with the 8-byte header
)

func BenchmarkReplicate(b *testing.B) {
	mdir := filepath.Join(b.TempDir(), "master")
	end := writeCrc32cDir(b, mdir, replTotal)
	bin := buildPlugin(b)
	inProcess := func(b *testing.B) plugins.Layout {
		l, err := crc32c.New(replSegSize)
		if err != nil {
			b.Fatal(err)
		}
		return l
	}
	b.Run("in_process", func(b *testing.B) {
		b.SetBytes(end)
		for i := 0; i < b.N; i++ {
			replicateOnce(b, mdir, end, inProcess(b), inProcess(b))
		}
	})
	b.Run("plugin", func(b *testing.B) {
		mlay, slay := startPlugin(b, bin), startPlugin(b, bin)
		b.SetBytes(end)
		for i := 0; i < b.N; i++ {
			replicateOnce(b, mdir, end, mlay, slay)
		}
	})
	b.Run("paired", func(b *testing.B) { benchPaired(b, mdir, end, inProcess(b), startPlugin(b, bin), startPlugin(b, bin)) })
}

// benchPaired runs, per iteration, an ABBA block: in-process, plugin,
// plugin, in-process. Both then see the same machine load, and a load that
// drifts during the block weighs on both alike (the separate sub-benchmarks
// can land in a quiet and a busy moment of a shared machine). It reports
// both throughputs over all blocks, and plugin_% = the median over blocks of
// the plugin's throughput as a percentage of the in-process one: a load
// spike that hits one block does not swing it.
func benchPaired(b *testing.B, mdir string, end int64, in, mlay, slay plugins.Layout) {
	b.SetBytes(4 * end)
	var tin, tplug time.Duration
	ratios := make([]float64, 0, b.N)
	for i := 0; i < b.N; i++ {
		bin := replicateOnce(b, mdir, end, in, in)
		bplug := replicateOnce(b, mdir, end, mlay, slay)
		bplug += replicateOnce(b, mdir, end, mlay, slay)
		bin += replicateOnce(b, mdir, end, in, in)
		tin, tplug = tin+bin, tplug+bplug
		ratios = append(ratios, 100*bin.Seconds()/bplug.Seconds())
	}
	mbps := func(d time.Duration) float64 { return 2 * float64(end) * float64(b.N) / d.Seconds() / 1e6 }
	b.ReportMetric(mbps(tin), "in_process_MB/s")
	b.ReportMetric(mbps(tplug), "plugin_MB/s")
	slices.Sort(ratios)
	b.ReportMetric(ratios[len(ratios)/2], "plugin_%")
}

// replicateOnce starts a master over mdir (valid up to end) and an empty
// slave, waits for the slave to hold everything and returns how long that
// took. Setup of the slave directory and teardown are not timed.
func replicateOnce(b *testing.B, mdir string, end int64, mlay, slay plugins.Layout) time.Duration {
	b.StopTimer()
	sdir := filepath.Join(b.TempDir(), "slave")
	b.StartTimer()
	t0 := time.Now()
	m := startReplMaster(b, mdir, mlay)
	s := startReplSlave(b, sdir, slay, m.addr)
	sidecartest.EventuallyEvery(b, 2*time.Minute, 200*time.Microsecond, "slave catch-up", func() bool { return s.s.End() == end })
	took := time.Since(t0)
	b.StopTimer()
	s.stop(b)
	m.stop()
	os.RemoveAll(sdir)
	b.StartTimer()
	return took
}

// writeCrc32cDir fills dir with 1 KiB records up to about total bytes and
// returns the end offset.
func writeCrc32cDir(b *testing.B, dir string, total int64) int64 {
	w, err := crc32c.OpenWriter(nil, dir, replSegSize)
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	rec := make([]byte, replPayload)
	end := int64(0)
	for i := 0; end < total; i++ {
		rec[i%len(rec)] = byte(i)
		if end, err = w.Append(rec); err != nil {
			b.Fatal(err)
		}
	}
	return end
}

// buildPlugin builds the real crc32c plugin binary into a temporary dir.
func buildPlugin(b *testing.B) string {
	bin := filepath.Join(b.TempDir(), "hasidecar-layout-crc32c")
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goBin); err != nil {
		goBin = "go"
	}
	out, err := exec.Command(goBin, "build", "-o", bin, "github.com/hasidecar/hasidecar/plugins/crc32c/cmd/hasidecar-layout-crc32c").CombinedOutput()
	if err != nil {
		b.Fatalf("build plugin: %v\n%s", err, out)
	}
	return bin
}

// startPlugin runs the plugin binary for the sub-benchmark's lifetime.
func startPlugin(b *testing.B, bin string) plugins.Layout {
	l, err := external.Start(zap.NewNop(), external.Options{Path: bin, Args: []string{"-segment-size=" + strconv.Itoa(replSegSize)}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { l.Close() })
	return l
}

// replMaster is a tailer and a master serving one directory on 127.0.0.1.
type replMaster struct {
	addr   string
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func startReplMaster(b *testing.B, dir string, lay plugins.Layout) *replMaster {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	log := zap.NewNop()
	tl := tailer.New(log, dir, lay, tailer.Options{Settle: 5 * time.Millisecond})
	tr := ack.NewTracker(log, ack.Policy{Kind: ack.Any}, 1<<40)
	m := sidecar.NewMaster(log, sidecar.MasterConfig{}, lay, tl, tr)
	ctx, cancel := context.WithCancel(context.Background())
	rm := &replMaster{addr: ln.Addr().String(), cancel: cancel}
	rm.wg.Go(func() { tl.Run(ctx) })
	rm.wg.Go(func() { m.Serve(ctx, ln) })
	return rm
}

func (rm *replMaster) stop() {
	rm.cancel()
	rm.wg.Wait()
}

// replSlave is a slave applying into a directory with no fsync.
type replSlave struct {
	s      *sidecar.Slave
	app    *applier.Applier
	cancel context.CancelFunc
	done   chan error
}

func startReplSlave(b *testing.B, dir string, lay plugins.Layout, addr string) *replSlave {
	log := zap.NewNop()
	app, err := applier.Open(log, dir, dir+".state", lay, applier.Options{Sync: applier.SyncNone})
	if err != nil {
		b.Fatal(err)
	}
	cfg := sidecar.SlaveConfig{Master: addr, MinBackoff: 10 * time.Millisecond, MaxBackoff: 100 * time.Millisecond, StopOnRefusal: true}
	rs := &replSlave{s: sidecar.NewSlave(log, cfg, lay, app), app: app, done: make(chan error, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	rs.cancel = cancel
	go func() { rs.done <- rs.s.Run(ctx) }()
	return rs
}

func (rs *replSlave) stop(b *testing.B) {
	rs.cancel()
	if err := <-rs.done; err != nil {
		b.Errorf("slave: %v", err)
	}
	if err := rs.app.Close(); err != nil {
		b.Errorf("close applier: %v", err)
	}
}
