package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"go.uber.org/zap"

	"github.com/hasidecar/hasidecar/plugins"
	"github.com/hasidecar/hasidecar/plugins/rocketmq"
	"github.com/hasidecar/hasidecar/sidecar/ackclient"
)

type benchCmd struct {
	mode     string
	total    string
	segment  string
	body     int
	keep     bool
	fsync    string
	ackAfter string
	writers  string
	duration time.Duration
}

// runBench measures catch-up (an empty slave process against a master
// process holding TOTAL bytes of RocketMQ segments, next to a raw TCP copy of
// the same files in the same run) or synchronous-commit latency.
func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c benchCmd
	fs := newFlagSet("bench")
	fs.StringVar(&c.mode, "mode", "catchup", "catchup (throughput of an empty slave) or sync (synchronous-commit latency)")
	fs.StringVar(&c.total, "total", "1GiB", "catchup: bytes of segments to replicate")
	fs.StringVar(&c.writers, "writers", "1,16,64", "sync: comma-separated concurrent writer counts")
	fs.DurationVar(&c.duration, "duration", 5*time.Second, "sync: how long each writer count runs")
	fs.StringVar(&c.ackAfter, "ack-after", "write", "the slave's --ack-after during the run")
	fs.StringVar(&c.segment, "segment-size", defaultSegmentSize, "segment size of the writer, master and slave")
	fs.IntVar(&c.body, "body-size", 1024, "message body bytes")
	fs.StringVar(&c.fsync, "fsync", "none", "the slave's --fsync policy during the run")
	fs.BoolVar(&c.keep, "keep", false, "keep the bench directory")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	total, err := plugins.ParseSize(c.total)
	if err != nil {
		return usageError{fmt.Errorf("--total: %w", err)}
	}
	seg, err := plugins.ParseSize(c.segment)
	if err != nil {
		return usageError{fmt.Errorf("--segment-size: %w", err)}
	}
	dir, err := os.MkdirTemp("", "hasidecar-bench-")
	if err != nil {
		return err
	}
	if !c.keep {
		defer os.RemoveAll(dir)
	}
	switch c.mode {
	case "catchup":
		return c.run(ctx, stdout, dir, total, seg)
	case "sync":
		levels, err := parseInts(c.writers)
		if err != nil {
			return usageError{fmt.Errorf("--writers: %w", err)}
		}
		return c.benchSync(ctx, stdout, dir, seg, levels, c.duration)
	}
	return usageError{fmt.Errorf("bench: --mode %q: want catchup or sync", c.mode)}
}

func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("%q is not a positive count", f)
		}
		out = append(out, n)
	}
	return out, nil
}

func (c *benchCmd) run(ctx context.Context, out io.Writer, dir string, total, seg int64) error {
	src := filepath.Join(dir, "master")
	end, err := fillRocketMQ(src, total, seg, c.body)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "prepared %.0f MiB of RocketMQ records in %d-byte segments\n", mib(end), seg)
	// The raw copy runs before and after hasidecar and the faster run is
	// the baseline. Every run starts with the source in the page cache and
	// no dirty pages left by another: writeback must not slow the next run.
	rawTook, rawBytes, err := c.rawRun(ctx, dir, src)
	if err != nil {
		return err
	}
	hsTook, err := c.catchUp(ctx, dir, src, end, seg)
	if err != nil {
		return err
	}
	os.RemoveAll(filepath.Join(dir, "slave"))
	rawTook2, _, err := c.rawRun(ctx, dir, src)
	if err != nil {
		return err
	}
	rawTook = min(rawTook, rawTook2)
	rawRate, hsRate := mib(rawBytes)/rawTook.Seconds(), mib(end)/hsTook.Seconds()
	fmt.Fprintf(out, "raw TCP copy of the files (%.0f MiB: read -> loopback TCP -> write; best of 2): %7.3fs  %7.1f MiB/s\n",
		mib(rawBytes), rawTook.Seconds(), rawRate)
	fmt.Fprintf(out, "hasidecar catch-up (master+slave processes, fsync=%s):    %7.3fs  %7.1f MiB/s  = %.2fx of raw\n",
		c.fsync, hsTook.Seconds(), hsRate, hsRate/rawRate)
	return nil
}

// rawRun is one raw copy of src, from a synced page cache; it removes its copy.
func (c *benchCmd) rawRun(ctx context.Context, dir, src string) (time.Duration, int64, error) {
	syscall.Sync()
	took, n, err := rawCopy(ctx, src, filepath.Join(dir, "rawcopy"))
	if err != nil {
		return 0, 0, fmt.Errorf("raw TCP copy: %w", err)
	}
	os.RemoveAll(filepath.Join(dir, "rawcopy"))
	syscall.Sync()
	return took, n, nil
}

// fillRocketMQ writes total bytes of records with the built-in writer.
func fillRocketMQ(dir string, total, seg int64, body int) (int64, error) {
	w, err := rocketmq.OpenWriter(zap.NewNop(), dir, rocketmq.WriterOptions{SegmentSize: seg})
	if err != nil {
		return 0, err
	}
	a := &rocketmqAppender{w: w}
	b := make([]byte, body)
	rand.Read(b)
	end := int64(0)
	for end < total {
		if end, err = a.Append(b); err != nil {
			a.Close()
			return 0, err
		}
	}
	return end, a.Close()
}

// catchUp starts a master and an empty slave and times until the slave has
// acknowledged end.
func (c *benchCmd) catchUp(ctx context.Context, dir, src string, end, seg int64) (time.Duration, error) {
	addr, err := freePort()
	if err != nil {
		return 0, err
	}
	sock := filepath.Join(dir, "ack.sock")
	segs := strconv.FormatInt(seg, 10)
	master, err := startChild(ctx, "master", filepath.Join(dir, "master.log"), "master", "--dir", src, "--listen", addr,
		"--segment-size", segs, "--ack-socket", sock, "--log-level", "warn")
	if err != nil {
		return 0, err
	}
	defer master.stop(10 * time.Second)
	if err := waitSocket(ctx, sock, 10*time.Second); err != nil {
		return 0, err
	}
	cl, err := ackclient.Dial(ctx, sock)
	if err != nil {
		return 0, err
	}
	defer cl.Close()
	if err := waitEnd(ctx, cl, end, func(s int64, _ int64) bool { return s >= end }); err != nil {
		return 0, fmt.Errorf("master did not scan its directory: %w", err)
	}
	start := time.Now()
	slave, err := startChild(ctx, "slave", filepath.Join(dir, "slave.log"), "slave", "--dir", filepath.Join(dir, "slave"),
		"--master", addr, "--segment-size", segs, "--fsync", c.fsync, "--log-level", "warn")
	if err != nil {
		return 0, err
	}
	defer slave.stop(10 * time.Second)
	if err := waitEnd(ctx, cl, end, func(_ int64, acked int64) bool { return acked >= end }); err != nil {
		return 0, fmt.Errorf("slave did not catch up: %w", err)
	}
	return time.Since(start), nil
}

// waitEnd polls the master's status until cond(masterEnd, maxAcked) holds.
func waitEnd(ctx context.Context, cl *ackclient.Client, end int64, cond func(int64, int64) bool) error {
	deadline := time.Now().Add(5 * time.Minute)
	for time.Now().Before(deadline) {
		snap, err := cl.Query(ctx)
		if err != nil {
			return err
		}
		if cond(snap.MasterEnd, maxAcked(&snap)) {
			return nil
		}
		if !sleepUntil(ctx, time.Now().Add(2*time.Millisecond)) {
			return ctx.Err()
		}
	}
	return fmt.Errorf("not reached within 5 minutes (end %d)", end)
}
