package role_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"go.uber.org/zap"

	"github.com/hasidecar/hasidecar/applier"
	"github.com/hasidecar/hasidecar/plugins/rocketmq"
	"github.com/hasidecar/hasidecar/sidecar"
	"github.com/hasidecar/hasidecar/sidecar/ack"
	"github.com/hasidecar/hasidecar/sidecar/config"
	"github.com/hasidecar/hasidecar/sidecar/role"
	"github.com/hasidecar/hasidecar/sidecar/verify"
	"github.com/hasidecar/hasidecar/tailer"
)

const exampleSegment = 1 << 20

// common are the settings both roles share in the example.
func common() (config.Log, config.Layout, config.Meta) {
	return config.Log{Level: "info", Format: "console"},
		config.Layout{Name: "rocketmq", SegmentSize: exampleSegment, SegmentSizeSet: true, PluginTimeout: 5 * time.Second},
		config.Meta{Include: []string{"*.json"}, MaxFileSize: 16 << 20}
}

// masterConfig is a master of dir on a port the system picks.
func masterConfig(dir string) config.Master {
	lg, lay, meta := common()
	return config.Master{Log: lg, Layout: lay, Meta: meta, Dir: dir, Listen: "127.0.0.1:0", Batch: 32 << 10,
		Initial: sidecar.InitialFull, Heartbeat: time.Second, Housekeeping: 5 * time.Second, ReportGrace: 3 * time.Second,
		GapLog: time.Minute, MaxSlaves: 4, MaxMetaConns: 4, AckPolicy: ack.Policy{Kind: ack.Any}, FallbehindMax: 256 << 20,
		AckSocketMode: 0o660, AckMaxConns: 16, AckMaxWaits: 1024,
		Tail: tailer.Options{PollMin: time.Millisecond, PollMax: 50 * time.Millisecond, Settle: 20 * time.Millisecond, Rescan: time.Second}}
}

// slaveConfig is a slave of the master at addr into dir.
func slaveConfig(dir, stateDir, addr string) config.Slave {
	lg, lay, meta := common()
	return config.Slave{Log: lg, Layout: lay, Meta: meta, Dir: dir, StateDir: stateDir, Master: addr, Name: "example",
		Sync: applier.SyncNone, Heartbeat: time.Second, Housekeeping: 5 * time.Second, MaxBackoff: time.Second, MetaInterval: time.Minute}
}

// A master and a slave in one process: a writer appends to the master's
// directory, the slave copies it, and the two directories end identical.
func Example() {
	base, err := os.MkdirTemp("", "hasidecar-role-example-")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(base)
	if err := replicate(base); err != nil {
		fmt.Println("failed:", err)
		return
	}
	fmt.Println("replicated: directories identical")
	// Output: replicated: directories identical
}

func replicate(base string) error {
	log := zap.NewNop()
	mdir, sdir := filepath.Join(base, "master"), filepath.Join(base, "slave")
	w, err := rocketmq.OpenWriter(log, mdir, rocketmq.WriterOptions{SegmentSize: exampleSegment})
	if err != nil {
		return err
	}
	defer w.Close()
	for i := range 3000 { // about 3 segments
		if _, err := w.Append(&rocketmq.Message{Topic: "example", QueueOffset: int64(i), Body: make([]byte, 1000)}); err != nil {
			return err
		}
	}
	m, err := role.NewMaster(log, masterConfig(mdir), role.Options{})
	if err != nil {
		return err
	}
	s, err := role.NewSlave(log, slaveConfig(sdir, sdir+".state", m.Addr().String()), role.Options{})
	if err != nil {
		m.Close()
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	mdone, sdone := run(ctx, m.Run), run(ctx, s.Run)
	caught := waitFor(10*time.Second, func() bool { return s.End() == w.End() })
	cancel()
	if err := errors.Join(<-sdone, <-mdone); err != nil {
		return err
	}
	if !caught {
		return fmt.Errorf("slave at %d, writer at %d after 10s", s.End(), w.End())
	}
	return compare(mdir, sdir)
}

func run(ctx context.Context, fn func(context.Context) error) <-chan error {
	ch := make(chan error, 1)
	go func() { ch <- fn(ctx) }()
	return ch
}

// waitFor polls cond until it holds or d passes.
func waitFor(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true
}

func compare(a, b string) error {
	lay, err := rocketmq.New(rocketmq.Options{SegmentSize: exampleSegment})
	if err != nil {
		return err
	}
	rep, err := verify.Dirs(lay, a, b, verify.Options{Exact: true})
	if err != nil {
		return err
	}
	if !rep.Equal() {
		return fmt.Errorf("%d differences, first: %s", rep.Count(), rep.Diffs[0].What)
	}
	return nil
}
