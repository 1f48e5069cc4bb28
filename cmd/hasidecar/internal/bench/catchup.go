package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// catchup is an empty slave process catching up with a master process on
// Total bytes of RocketMQ records, against a raw loopback copy of the same
// files in this process (rawcopy.go: sendfile and splice, page cache to
// page cache), at the master's default batch and at a 1 MiB batch.
type catchup struct {
	src string
	end int64
}

const bigBatch = "1MiB"

func (*catchup) specs() []spec {
	return []spec{
		{Name: "catchup_throughput", What: "catch-up of an empty slave (default batch)", Unit: "MiB/s",
			Baseline: "raw loopback copy of the same files in one process (sendfile -> TCP -> splice), MiB/s",
			Target:   target{OnRatio: true, Limit: 0.9}},
		{Name: "catchup_cpu_per_gib", What: "catch-up CPU, master+slave", Unit: "CPU-s/GiB",
			Baseline: "the raw copy's CPU-seconds per GiB (both ends, getrusage of this process)",
			Target:   target{OnRatio: true, AtMost: true, Limit: 1.2}},
		{Name: "catchup_big_batch", What: "catch-up at --batch " + bigBatch, Unit: "MiB/s",
			Baseline: "catch-up at the default batch, MiB/s",
			Target:   target{OnRatio: true, Limit: 1}},
	}
}

func (c *catchup) prepare(_ context.Context, e *env) error {
	c.src = filepath.Join(e.dir, "master")
	var err error
	c.end, err = fillRocketMQ(c.src, e.Total, e.SegmentSize, e.Body)
	return err
}

func (c *catchup) once(ctx context.Context, e *env) (map[string]sample, error) {
	rawTook, rawBytes, rawCPU, err := c.raw(ctx, e)
	if err != nil {
		return nil, err
	}
	took, cpu, err := c.catchUp(ctx, e)
	if err != nil {
		return nil, err
	}
	bigTook, _, err := c.catchUp(ctx, e, "--batch", bigBatch)
	if err != nil {
		return nil, err
	}
	gib := float64(c.end) / (1 << 30)
	rawRate, rate, bigRate := mib(rawBytes)/rawTook.Seconds(), mib(c.end)/took.Seconds(), mib(c.end)/bigTook.Seconds()
	return map[string]sample{
		"catchup_throughput":  vs(rate, rawRate),
		"catchup_cpu_per_gib": vs(cpu.Seconds()/gib, rawCPU.Seconds()/(float64(rawBytes)/(1<<30))),
		"catchup_big_batch":   vs(bigRate, rate),
	}, nil
}

// raw is one raw copy of the source from a synced page cache: no dirty
// pages of another run slow it down, and it leaves none behind.
func (c *catchup) raw(ctx context.Context, e *env) (time.Duration, int64, time.Duration, error) {
	dst := filepath.Join(e.dir, "rawcopy")
	syscall.Sync()
	cpu0 := selfCPU()
	took, n, err := rawCopy(ctx, c.src, dst)
	cpu := selfCPU() - cpu0
	if err != nil {
		return 0, 0, 0, fmt.Errorf("raw TCP copy: %w", err)
	}
	os.RemoveAll(dst)
	syscall.Sync()
	return took, n, cpu, nil
}

// catchUp starts a master (with extra flags) and an empty slave and times
// until the slave has acknowledged the end; the CPU is both processes'
// from the slave's start to then.
func (c *catchup) catchUp(ctx context.Context, e *env, extra ...string) (time.Duration, time.Duration, error) {
	sdir := filepath.Join(e.dir, "slave")
	defer func() { os.RemoveAll(sdir); syscall.Sync() }()
	p, err := startMaster(ctx, e.Exe, e.dir, c.src, e.SegmentSize, extra...)
	if err != nil {
		return 0, 0, err
	}
	defer p.stop()
	if err := p.waitScanned(ctx, c.end); err != nil {
		return 0, 0, err
	}
	start := time.Now()
	if err := p.startSlave(ctx, sdir, "--fsync", e.Fsync); err != nil {
		return 0, 0, err
	}
	m, err := startCPU(p.pids()...)
	if err != nil {
		return 0, 0, err
	}
	if err := p.waitAcked(ctx, c.end); err != nil {
		return 0, 0, err
	}
	took := time.Since(start)
	used, _, err := m.stop()
	if err != nil {
		return 0, 0, err
	}
	return took, used[0] + used[1], nil
}
