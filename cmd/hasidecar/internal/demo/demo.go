package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/hasidecar/hasidecar/cmd/hasidecar/internal/loadgen"
	"github.com/hasidecar/hasidecar/cmd/hasidecar/internal/report"
	"github.com/hasidecar/hasidecar/cmd/hasidecar/internal/spawn"
	"github.com/hasidecar/hasidecar/plugins/rocketmq"
	"github.com/hasidecar/hasidecar/sidecar/ackclient"
	"github.com/hasidecar/hasidecar/sidecar/verify"
)

// Config is one demo run.
type Config struct {
	Exe         string // the hasidecar binary, run as master, slave and writer
	Duration    time.Duration
	Rate        float64 // messages per second
	SegmentSize int64
	Keep        bool   // keep Dir
	Dir         string // "": a new temporary directory
}

// DiffersError is a demo whose directories came out different: exit 2,
// as verify's.
type DiffersError struct{ N int }

func (e DiffersError) Error() string { return fmt.Sprintf("directories differ (%d differences)", e.N) }

// ExitCode is verify's for differences.
func (e DiffersError) ExitCode() int { return 2 }

// Run runs the demo and prints its progress and verdict to out.
func Run(ctx context.Context, out io.Writer, c Config) error {
	if c.Dir == "" {
		var err error
		if c.Dir, err = os.MkdirTemp("", "hasidecar-demo-"); err != nil {
			return fmt.Errorf("demo: %w", err)
		}
	}
	if !c.Keep {
		defer os.RemoveAll(c.Dir)
	}
	return c.run(ctx, out)
}

type demoRun struct {
	base, masterDir, slaveDir, sock string
	seg                             string
}

func (c *Config) run(ctx context.Context, out io.Writer) error {
	size := c.SegmentSize
	d := demoRun{base: c.Dir, masterDir: filepath.Join(c.Dir, "master", "commitlog"),
		slaveDir: filepath.Join(c.Dir, "slave", "commitlog"), sock: filepath.Join(c.Dir, "ack.sock"), seg: strconv.FormatInt(size, 10)}
	addr, err := spawn.FreePort()
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "hasidecar demo in %s\n  writer -> %s\n  master 127.0.0.1 HA %s, ack socket %s\n  slave  -> %s\n",
		c.Dir, d.masterDir, addr, d.sock, d.slaveDir)
	master, err := spawn.Start(ctx, c.Exe, "master", filepath.Join(c.Dir, "master.log"), "master", "--dir", d.masterDir,
		"--listen", addr, "--segment-size", d.seg, "--ack-socket", d.sock)
	if err != nil {
		return err
	}
	defer master.Stop(10 * time.Second)
	slave, err := spawn.Start(ctx, c.Exe, "slave", filepath.Join(c.Dir, "slave.log"), "slave", "--dir", d.slaveDir,
		"--master", addr, "--segment-size", d.seg)
	if err != nil {
		return err
	}
	defer slave.Stop(10 * time.Second)
	if err := spawn.WaitSocket(ctx, d.sock, 10*time.Second); err != nil {
		return fmt.Errorf("master did not start (see %s): %w", filepath.Join(c.Dir, "master.log"), err)
	}
	writer, err := spawn.Start(ctx, c.Exe, "writer", filepath.Join(c.Dir, "writer.log"), "write", "--dir", d.masterDir,
		"--segment-size", d.seg, "--rate", strconv.FormatFloat(c.Rate, 'f', -1, 64), "--duration", c.Duration.String())
	if err != nil {
		return err
	}
	defer writer.Stop(10 * time.Second)
	if err := c.progress(ctx, out, d, writer); err != nil {
		return err
	}
	slave.Stop(10 * time.Second)
	return d.verify(out, size)
}

// progress prints a line a second until the writer is done and the slave
// has caught up.
func (c *Config) progress(ctx context.Context, out io.Writer, d demoRun, writer *spawn.Child) error {
	cl, err := ackclient.Dial(ctx, d.sock)
	if err != nil {
		return err
	}
	defer cl.Close()
	start, last, lastEnd := time.Now(), time.Now(), int64(0)
	writerDone, writerEnd, writerDoneCh := false, int64(0), writer.Done()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-writerDoneCh:
			writerDoneCh = nil
			if err := writer.Err(); err != nil {
				return fmt.Errorf("writer failed (see writer.log): %w", err)
			}
			if writerEnd, err = readWriterEnd(filepath.Join(d.base, "writer.log")); err != nil {
				return err
			}
			writerDone = true
		case <-tick.C:
		}
		snap, err := cl.Query(ctx)
		if err != nil {
			return fmt.Errorf("query master: %w", err)
		}
		acked := report.MaxAcked(&snap)
		now := time.Now()
		rate := float64(snap.MasterEnd-lastEnd) / now.Sub(last).Seconds() / (1 << 20)
		last, lastEnd = now, snap.MasterEnd
		fmt.Fprintf(out, "%5.1fs  master end %8.1f MiB  slave acked %8.1f MiB  lag %8d B  write rate %6.1f MiB/s  slaves %d\n",
			now.Sub(start).Seconds(), mib(snap.MasterEnd), mib(acked), snap.MasterEnd-acked, rate, len(snap.Slaves))
		if writerDone && acked == writerEnd && snap.MasterEnd == writerEnd {
			return nil
		}
		if writerDone && now.Sub(start) > c.Duration+30*time.Second {
			return errors.New("slave did not catch up within 30 s after the writer stopped (see slave.log)")
		}
	}
}

// readWriterEnd finds the end offset the writer printed when it finished.
func readWriterEnd(path string) (int64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	m := loadgen.EndPattern.FindSubmatch(b)
	if m == nil {
		return 0, fmt.Errorf("writer printed no end offset (see %s)", path)
	}
	return strconv.ParseInt(string(m[1]), 10, 64)
}

func mib(n int64) float64 { return float64(n) / (1 << 20) }

func (d demoRun) verify(out io.Writer, size int64) error {
	lay, err := rocketmq.New(rocketmq.Options{SegmentSize: size})
	if err != nil {
		return err
	}
	rep, err := verify.Dirs(lay, d.masterDir, d.slaveDir, verify.Options{Exact: true})
	if err != nil {
		return err
	}
	report.Verify(out, d.masterDir, d.slaveDir, rep)
	if !rep.Equal() {
		return DiffersError{len(rep.Diffs)}
	}
	fmt.Fprintf(out, "demo OK: %d segments (%.1f MiB of records) replicated; master and slave directories are byte-for-byte identical\n",
		rep.Segments, mib(rep.EndA))
	return nil
}
