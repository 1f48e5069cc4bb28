package sidecar

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/hasidecar/hasidecar/applier"
	"github.com/hasidecar/hasidecar/plugins/rocketmq"
	"github.com/hasidecar/hasidecar/sidecar/ack"
	"github.com/hasidecar/hasidecar/tailer"
)

const testSeg = 1 << 20

func testLayout(t testing.TB, seg int64) *rocketmq.Layout {
	l, err := rocketmq.New(rocketmq.Options{SegmentSize: seg})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// writeRecords appends n records of body bytes with the built-in writer and
// returns the end offset.
func writeRecords(t testing.TB, dir string, seg int64, n, body int) int64 {
	w, err := rocketmq.OpenWriter(nil, dir, rocketmq.WriterOptions{SegmentSize: seg})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	b := make([]byte, body)
	end := int64(0)
	for i := 0; i < n; i++ {
		b[i%body] = byte(i)
		if end, err = w.Append(&rocketmq.Message{Topic: "t", Body: b}); err != nil {
			t.Fatal(err)
		}
	}
	return end
}

// testMaster is an in-process master over a real directory and a real
// TCP listener on 127.0.0.1.
type testMaster struct {
	dir     string
	addr    string
	tail    *tailer.Tailer
	tracker *ack.Tracker
	m       *Master
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

func startMaster(t testing.TB, dir string, cfg MasterConfig) *testMaster {
	return startMasterCfg(t, dir, testSeg, cfg)
}

func startMasterSeg(t testing.TB, dir string, seg int64) *testMaster {
	return startMasterCfg(t, dir, seg, MasterConfig{})
}

func startMasterCfg(t testing.TB, dir string, seg int64, cfg MasterConfig) *testMaster {
	return startMasterWith(t, dir, seg, cfg, testLogger(t))
}

// testLogger logs to the test, or nowhere in a benchmark.
func testLogger(t testing.TB) *zap.Logger {
	if _, ok := t.(*testing.B); ok {
		return zap.NewNop()
	}
	return zaptest.NewLogger(t)
}

// startMasterWith runs a master over dir with the given logger.
func startMasterWith(t testing.TB, dir string, seg int64, cfg MasterConfig, log *zap.Logger) *testMaster {
	lay := testLayout(t, seg)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tm := &testMaster{dir: dir, addr: ln.Addr().String()}
	tm.tail = tailer.New(log.Named("tailer"), dir, lay, tailer.Options{Settle: 5 * time.Millisecond})
	tm.tracker = ack.NewTracker(log, ack.Policy{Kind: ack.Any}, 1<<40)
	tm.m = NewMaster(log.Named("master"), cfg, lay, tm.tail, tm.tracker)
	ctx, cancel := context.WithCancel(context.Background())
	tm.cancel = cancel
	tm.wg.Go(func() { tm.tail.Run(ctx) })
	tm.wg.Go(func() { tm.m.Serve(ctx, ln) })
	t.Cleanup(tm.stop)
	return tm
}

func (tm *testMaster) stop() {
	tm.cancel()
	tm.wg.Wait()
}

// testSlave is an in-process slave over a real applier.
type testSlave struct {
	s      *Slave
	app    *applier.Applier
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
	err    error
}

func startSlave(t testing.TB, dir string, seg int64, cfg SlaveConfig) *testSlave {
	cfg.MinBackoff, cfg.MaxBackoff = 10*time.Millisecond, 100*time.Millisecond
	cfg.StopOnRefusal = true
	return startSlaveWith(t, dir, seg, cfg, testLogger(t))
}

// startSlaveWith runs a slave into dir with the given logger; cfg is used
// as given.
func startSlaveWith(t testing.TB, dir string, seg int64, cfg SlaveConfig, log *zap.Logger) *testSlave {
	lay := testLayout(t, seg)
	app, err := applier.Open(log.Named("applier"), dir, dir+".state", lay, applier.Options{Sync: applier.SyncNone})
	if err != nil {
		t.Fatal(err)
	}
	ts := &testSlave{app: app, done: make(chan error, 1), s: NewSlave(log.Named("slave"), cfg, lay, app)}
	ctx, cancel := context.WithCancel(context.Background())
	ts.cancel = cancel
	go func() { ts.done <- ts.s.Run(ctx) }()
	t.Cleanup(func() { ts.stop(); app.Close() })
	return ts
}

// waitEnded waits (bounded) for the slave's Run to end with an error
// matching want (a refusal), failing with what when it does not.
func (ts *testSlave) waitEnded(t testing.TB, want error, what string) {
	t.Helper()
	select {
	case err := <-ts.done:
		if !errors.Is(err, want) {
			t.Fatalf("slave ended with %v, want %v", err, want)
		}
		ts.once.Do(func() {})
	case <-time.After(10 * time.Second):
		t.Fatal(what)
	}
}

func (ts *testSlave) stop() error {
	ts.once.Do(func() {
		ts.cancel()
		ts.err = <-ts.done
	})
	return ts.err
}

func tempDirs(t testing.TB) (string, string) {
	d := t.TempDir()
	return filepath.Join(d, "master"), filepath.Join(d, "slave")
}
