package bench

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"go.uber.org/zap"

	"github.com/hasidecar/hasidecar/cmd/hasidecar/internal/loadgen"
	"github.com/hasidecar/hasidecar/cmd/hasidecar/internal/report"
	"github.com/hasidecar/hasidecar/cmd/hasidecar/internal/spawn"
	"github.com/hasidecar/hasidecar/plugins/rocketmq"
	"github.com/hasidecar/hasidecar/sidecar/ackclient"
)

// Config is one bench run.
type Config struct {
	Exe         string // the hasidecar binary, run as master and slave
	Mode        string // catchup or sync
	Total       int64  // catchup: bytes of segments to replicate
	SegmentSize int64
	Body        int    // message body bytes
	Keep        bool   // keep the bench directory
	Fsync       string // the slave's --fsync
	AckAfter    string // the slave's --ack-after
	Writers     []int  // sync: concurrent writer counts
	Duration    time.Duration
}

// ErrMode is a Mode other than catchup and sync.
var ErrMode = errors.New("bench: want --mode catchup or sync")

// Run measures catch-up (an empty slave process against a master process
// holding Total bytes of RocketMQ segments, next to a raw TCP copy of the
// same files in the same run) or synchronous-commit latency, in a new
// temporary directory, and prints the results to out.
func Run(ctx context.Context, out io.Writer, c Config) error {
	if c.Mode != "catchup" && c.Mode != "sync" {
		return fmt.Errorf("%w (not %q)", ErrMode, c.Mode)
	}
	dir, err := os.MkdirTemp("", "hasidecar-bench-")
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	if !c.Keep {
		defer os.RemoveAll(dir)
	}
	if c.Mode == "sync" {
		return c.benchSync(ctx, out, dir, c.SegmentSize, c.Writers, c.Duration)
	}
	return c.run(ctx, out, dir, c.Total, c.SegmentSize)
}

func mib(n int64) float64 { return float64(n) / (1 << 20) }

func (c *Config) run(ctx context.Context, out io.Writer, dir string, total, seg int64) error {
	src := filepath.Join(dir, "master")
	end, err := fillRocketMQ(src, total, seg, c.Body)
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
		c.Fsync, hsTook.Seconds(), hsRate, hsRate/rawRate)
	return nil
}

// rawRun is one raw copy of src, from a synced page cache; it removes its copy.
func (c *Config) rawRun(ctx context.Context, dir, src string) (time.Duration, int64, error) {
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
	a := loadgen.NewRocketMQ(w)
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
func (c *Config) catchUp(ctx context.Context, dir, src string, end, seg int64) (time.Duration, error) {
	addr, err := spawn.FreePort()
	if err != nil {
		return 0, err
	}
	sock := filepath.Join(dir, "ack.sock")
	segs := strconv.FormatInt(seg, 10)
	master, err := spawn.Start(ctx, c.Exe, "master", filepath.Join(dir, "master.log"), "master", "--dir", src, "--listen", addr,
		"--segment-size", segs, "--ack-socket", sock, "--log-level", "warn")
	if err != nil {
		return 0, err
	}
	defer master.Stop(10 * time.Second)
	if err := spawn.WaitSocket(ctx, sock, 10*time.Second); err != nil {
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
	slave, err := spawn.Start(ctx, c.Exe, "slave", filepath.Join(dir, "slave.log"), "slave", "--dir", filepath.Join(dir, "slave"),
		"--master", addr, "--segment-size", segs, "--fsync", c.Fsync, "--log-level", "warn")
	if err != nil {
		return 0, err
	}
	defer slave.Stop(10 * time.Second)
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
		if cond(snap.MasterEnd, report.MaxAcked(&snap)) {
			return nil
		}
		if !spawn.SleepUntil(ctx, time.Now().Add(2*time.Millisecond)) {
			return ctx.Err()
		}
	}
	return fmt.Errorf("not reached within 5 minutes (end %d)", end)
}
