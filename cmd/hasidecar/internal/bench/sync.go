package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"go.uber.org/zap"

	"github.com/hasidecar/hasidecar/cmd/hasidecar/internal/loadgen"
	"github.com/hasidecar/hasidecar/sidecar/ack"
)

// syncCommit is synchronous commits: this process is the writer
// (appending RocketMQ records through mmap, as a broker does), a master
// and a slave run as processes, and each append waits on the ack socket
// for its end offset, by 1 writer and by manyWriters sharing one ack
// connection. Baselines: 8-byte ping-pongs over loopback TCP and over a
// Unix socket, and WAITs of an offset already committed (the ack socket
// and server alone, without replication).
type syncCommit struct{}

const manyWriters = 64

func (*syncCommit) specs() []spec {
	const tcp, unix = "loopback TCP ping-pong p50 (8 bytes each way), us", "Unix-socket ping-pong p50 (8 bytes each way), us"
	return []spec{
		{Name: "sync_p50", What: "sync commit p50, 1 writer", Unit: "us", Baseline: tcp, Also: unix,
			Target: target{OnRatio: true, AtMost: true, Limit: 15}},
		{Name: "sync_p99", What: "sync commit p99, 1 writer", Unit: "us", Baseline: tcp, Also: unix,
			Target: target{OnRatio: true, AtMost: true, Limit: 40}},
		{Name: "sync_committed_wait_p50", What: "WAIT of a committed offset p50", Unit: "us", Baseline: unix,
			Target: target{OnRatio: true, AtMost: true, Limit: 3}},
		{Name: "sync_group_commit", What: fmt.Sprintf("commits/s, %d writers", manyWriters), Unit: "/s",
			Baseline: "commits/s of 1 writer", Target: target{OnRatio: true, Limit: 20}},
	}
}

func (*syncCommit) prepare(context.Context, *env) error { return nil }

func (s *syncCommit) once(ctx context.Context, e *env) (map[string]sample, error) {
	n := e.roundTrips()
	tcp, err := pingPong(ctx, "tcp", "127.0.0.1:0", n)
	if err != nil {
		return nil, fmt.Errorf("TCP ping-pong: %w", err)
	}
	unix, err := pingPong(ctx, "unix", filepath.Join(e.dir, "ping.sock"), n)
	if err != nil {
		return nil, fmt.Errorf("Unix ping-pong: %w", err)
	}
	mdir, sdir := filepath.Join(e.dir, "master"), filepath.Join(e.dir, "slave")
	defer func() { os.RemoveAll(mdir); os.RemoveAll(sdir) }()
	p, err := s.start(ctx, e, mdir, sdir)
	if err != nil {
		return nil, err
	}
	defer p.stop()
	committed, err := committedWaits(ctx, p, n)
	if err != nil {
		return nil, err
	}
	one, err := syncLevel(ctx, e, p, 1)
	if err != nil {
		return nil, err
	}
	many, err := syncLevel(ctx, e, p, manyWriters)
	if err != nil {
		return nil, err
	}
	rtt, urtt := us(tcp.Quantile(0.5)), us(unix.Quantile(0.5))
	return map[string]sample{
		"sync_p50":                {Value: us(one.Sync.Quantile(0.5)), Base: rtt, Also: urtt},
		"sync_p99":                {Value: us(one.Sync.Quantile(0.99)), Base: rtt, Also: urtt},
		"sync_committed_wait_p50": {Value: us(committed.Quantile(0.5)), Base: urtt},
		"sync_group_commit":       {Value: commitsPerSecond(many), Base: commitsPerSecond(one)},
	}, nil
}

// start runs a master and a slave and writes one record they agree on:
// the master answers a slave's hello only once it has a segment, and the
// first waits would otherwise be NOT_AVAILABLE.
func (*syncCommit) start(ctx context.Context, e *env, mdir, sdir string) (*pair, error) {
	wc := loadgen.Config{Dir: mdir, Layout: "rocketmq", SegmentSize: e.SegmentSize, BodySize: e.Body, Count: 1, Writers: 1}
	w, err := loadgen.Open(zap.NewNop(), wc)
	if err != nil {
		return nil, err
	}
	st, err := loadgen.Loop(ctx, zap.NewNop(), wc, w)
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("warm-up write: %w", err)
	}
	p, err := startMaster(ctx, e.Exe, e.dir, mdir, e.SegmentSize)
	if err != nil {
		return nil, err
	}
	if err := p.startSlave(ctx, sdir, "--fsync", e.Fsync, "--ack-after", e.AckAfter); err != nil {
		p.stop()
		return nil, err
	}
	if err := p.waitAcked(ctx, st.End); err != nil {
		p.stop()
		return nil, err
	}
	return p, nil
}

// syncLevel runs n writers, each appending and waiting, for e.Duration.
func syncLevel(ctx context.Context, e *env, p *pair, n int) (*loadgen.Stats, error) {
	wc := loadgen.Config{Dir: p.mdir, Layout: "rocketmq", SegmentSize: e.SegmentSize, BodySize: e.Body,
		Duration: e.Duration, AckSocket: p.sock, Writers: n, WaitTimeout: 5 * time.Second}
	w, err := loadgen.Open(zap.NewNop(), wc)
	if err != nil {
		return nil, err
	}
	defer w.Close()
	st, err := loadgen.Loop(ctx, zap.NewNop(), wc, w)
	if err != nil {
		return nil, err
	}
	return st, notAllOK(&st.Sync)
}

// committedWaits are n WAITs for offset 0, which the master answers OK at
// once.
func committedWaits(ctx context.Context, p *pair, n int) (*loadgen.Latencies, error) {
	l := &loadgen.Latencies{}
	for range n {
		t0 := time.Now()
		res, err := p.cl.WaitTimeout(ctx, 0, waitLimit)
		if err != nil {
			return nil, fmt.Errorf("WAIT of offset 0: %w", err)
		}
		l.Add(time.Since(t0), res.Status.String())
	}
	return l, notAllOK(l)
}

func commitsPerSecond(st *loadgen.Stats) float64 {
	return float64(st.Sync.Result(ack.OK.String())) / st.Took.Seconds()
}

func us(d time.Duration) float64 { return d.Seconds() * 1e6 }

// roundTrips is how many ping-pongs and committed WAITs a run times.
func (e *env) roundTrips() int {
	if e.Quick {
		return 2000
	}
	return 20000
}
