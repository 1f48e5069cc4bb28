package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/hasidecar/hasidecar/cmd/hasidecar/internal/loadgen"
	"github.com/hasidecar/hasidecar/sidecar/ack"
)

// live is a master and a slave process under a writer in this process
// appending liveRate bytes of bodies a second (in a burst each
// millisecond, as a broker's flush does): the master's CPU, and the lag of
// sampled records, from the append to the master's OK for a WAIT on its
// end (the WAIT goes out right after the append and does not hold up the
// writer). Then, with the writer paused, the time a single record takes
// to be acknowledged when the writer WAITs for it.
type live struct{}

const (
	liveRate    = 20e6 // body bytes a second ("20 MB/s")
	liveSample  = 5 * time.Millisecond
	livePauses  = 20
	pauseBefore = 50 * time.Millisecond
)

func (*live) specs() []spec {
	return []spec{
		{Name: "live_master_cpu", What: "master CPU at a 20 MB/s writer", Unit: "% core",
			Target: target{AtMost: true, Limit: 5}},
		{Name: "live_lag_p99", What: "live lag p99 at a 20 MB/s writer", Unit: "ms",
			Target: target{AtMost: true, Limit: 1.5}},
		{Name: "live_last_record_p50", What: "last record after a pause, WAIT, p50", Unit: "ms",
			Target: target{AtMost: true, Limit: 2}},
	}
}

func (*live) prepare(context.Context, *env) error { return nil }

func (*live) once(ctx context.Context, e *env) (map[string]sample, error) {
	mdir, sdir := filepath.Join(e.dir, "master"), filepath.Join(e.dir, "slave")
	defer func() { os.RemoveAll(mdir); os.RemoveAll(sdir) }()
	wc := loadgen.Config{Dir: mdir, Layout: "rocketmq", SegmentSize: e.SegmentSize, BodySize: e.Body, Writers: 1}
	w, err := loadgen.Open(zap.NewNop(), wc)
	if err != nil {
		return nil, err
	}
	defer w.Close()
	body := make([]byte, e.Body)
	end, err := w.Append(body) // the master answers a slave's hello once it has a segment
	if err != nil {
		return nil, err
	}
	p, err := startMaster(ctx, e.Exe, e.dir, mdir, e.SegmentSize)
	if err != nil {
		return nil, err
	}
	defer p.stop()
	if err := p.startSlave(ctx, sdir, "--fsync", e.Fsync, "--ack-after", e.AckAfter); err != nil {
		return nil, err
	}
	if err := p.waitAcked(ctx, end); err != nil {
		return nil, err
	}
	m, err := startCPU(p.master.Pid())
	if err != nil {
		return nil, err
	}
	lag, err := liveLoad(ctx, p, w, body, e.Duration)
	if err != nil {
		return nil, err
	}
	used, wall, err := m.stop()
	if err != nil {
		return nil, err
	}
	last, err := lastRecord(ctx, p, w, body, e.pauses())
	if err != nil {
		return nil, err
	}
	return map[string]sample{
		"live_master_cpu":      noBase(percent(used[0], wall)),
		"live_lag_p99":         noBase(ms(lag.Quantile(0.99))),
		"live_last_record_p50": noBase(ms(last.Quantile(0.5))),
	}, nil
}

// liveLoad appends at liveRate for d, sampling a record every liveSample.
func liveLoad(ctx context.Context, p *pair, w loadgen.Appender, body []byte, d time.Duration) (*loadgen.Latencies, error) {
	perMs := max(1, int(liveRate/float64(len(body))/1000))
	lag := &loadgen.Latencies{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	defer wg.Wait()
	start := time.Now()
	var lastSample time.Time
	for tick := 1; time.Since(start) < d; tick++ {
		var end int64
		var err error
		for range perMs {
			if end, err = w.Append(body); err != nil {
				return nil, fmt.Errorf("append: %w", err)
			}
		}
		if t := time.Now(); t.Sub(lastSample) >= liveSample {
			lastSample = t
			wg.Go(func() {
				res, err := p.cl.WaitTimeout(ctx, end, waitLimit)
				d, status := time.Since(t), "ERROR"
				if err == nil {
					status = res.Status.String()
				}
				mu.Lock()
				lag.Add(d, status)
				mu.Unlock()
			})
		}
		if err := sleep(ctx, time.Until(start.Add(time.Duration(tick)*time.Millisecond))); err != nil {
			return nil, err
		}
	}
	wg.Wait()
	return lag, notAllOK(lag)
}

// lastRecord appends one record after each of n pauses and times its WAIT.
func lastRecord(ctx context.Context, p *pair, w loadgen.Appender, body []byte, n int) (*loadgen.Latencies, error) {
	l := &loadgen.Latencies{}
	for range n {
		if err := sleep(ctx, pauseBefore); err != nil {
			return nil, err
		}
		t0 := time.Now()
		end, err := w.Append(body)
		if err != nil {
			return nil, err
		}
		res, err := p.cl.WaitTimeout(ctx, end, waitLimit)
		if err != nil {
			return nil, fmt.Errorf("wait for offset %d: %w", end, err)
		}
		l.Add(time.Since(t0), res.Status.String())
	}
	return l, notAllOK(l)
}

// notAllOK is an error when a sampled WAIT did not answer OK: its time
// would not be a replication lag.
func notAllOK(l *loadgen.Latencies) error {
	if bad := l.Count() - l.Result(ack.OK.String()); bad > 0 {
		return fmt.Errorf("%d of %d waits did not answer OK (%s)", bad, l.Count(), l.Summary())
	}
	return nil
}

func ms(d time.Duration) float64 { return d.Seconds() * 1000 }

// pauses is how many single records follow a pause.
func (e *env) pauses() int {
	if e.Quick {
		return 3
	}
	return livePauses
}
