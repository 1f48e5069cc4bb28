package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/hasidecar/hasidecar/plugins"
	"github.com/hasidecar/hasidecar/plugins/rocketmq"
	"github.com/hasidecar/hasidecar/sidecar/ackclient"
	"github.com/hasidecar/hasidecar/sidecar/verify"
)

type demoCmd struct {
	duration time.Duration
	rate     float64
	segment  string
	keep     bool
	dir      string
}

func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c demoCmd
	fs := newFlagSet("demo")
	fs.DurationVar(&c.duration, "duration", 15*time.Second, "how long the writer appends")
	fs.Float64Var(&c.rate, "rate", 20000, "messages per second (1 KiB bodies)")
	fs.StringVar(&c.segment, "segment-size", defaultSegmentSize, "segment size of the writer, master and slave")
	fs.BoolVar(&c.keep, "keep", false, "keep the demo directory")
	fs.StringVar(&c.dir, "dir", "", "work directory (default: a new temporary one)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	size, err := plugins.ParseSize(c.segment)
	if err != nil {
		return usageError{fmt.Errorf("--segment-size: %w", err)}
	}
	if c.dir == "" {
		if c.dir, err = os.MkdirTemp("", "hasidecar-demo-"); err != nil {
			return err
		}
	}
	if !c.keep {
		defer os.RemoveAll(c.dir)
	}
	return c.run(ctx, stdout, size)
}

type demoRun struct {
	base, masterDir, slaveDir, sock string
	seg                             string
}

func (c *demoCmd) run(ctx context.Context, out io.Writer, size int64) error {
	d := demoRun{base: c.dir, masterDir: filepath.Join(c.dir, "master", "commitlog"),
		slaveDir: filepath.Join(c.dir, "slave", "commitlog"), sock: filepath.Join(c.dir, "ack.sock"), seg: strconv.FormatInt(size, 10)}
	addr, err := freePort()
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "hasidecar demo in %s\n  writer -> %s\n  master 127.0.0.1 HA %s, ack socket %s\n  slave  -> %s\n",
		c.dir, d.masterDir, addr, d.sock, d.slaveDir)
	master, err := startChild(ctx, "master", filepath.Join(c.dir, "master.log"), "master", "--dir", d.masterDir,
		"--listen", addr, "--segment-size", d.seg, "--ack-socket", d.sock)
	if err != nil {
		return err
	}
	defer master.stop(10 * time.Second)
	slave, err := startChild(ctx, "slave", filepath.Join(c.dir, "slave.log"), "slave", "--dir", d.slaveDir,
		"--master", addr, "--segment-size", d.seg)
	if err != nil {
		return err
	}
	defer slave.stop(10 * time.Second)
	if err := waitSocket(ctx, d.sock, 10*time.Second); err != nil {
		return fmt.Errorf("master did not start (see %s): %w", filepath.Join(c.dir, "master.log"), err)
	}
	writer, err := startChild(ctx, "writer", filepath.Join(c.dir, "writer.log"), "write", "--dir", d.masterDir,
		"--segment-size", d.seg, "--rate", strconv.FormatFloat(c.rate, 'f', -1, 64), "--duration", c.duration.String())
	if err != nil {
		return err
	}
	defer writer.stop(10 * time.Second)
	if err := c.progress(ctx, out, d, writer); err != nil {
		return err
	}
	slave.stop(10 * time.Second)
	return d.verify(out, size)
}

// progress prints a line a second until the writer is done and the slave
// has caught up.
func (c *demoCmd) progress(ctx context.Context, out io.Writer, d demoRun, writer *child) error {
	cl, err := ackclient.Dial(ctx, d.sock)
	if err != nil {
		return err
	}
	defer cl.Close()
	start, last, lastEnd := time.Now(), time.Now(), int64(0)
	writerDone, writerEnd, writerDoneCh := false, int64(0), writer.done
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-writerDoneCh:
			writerDoneCh = nil
			if err := writer.err; err != nil {
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
		acked := maxAcked(&snap)
		now := time.Now()
		rate := float64(snap.MasterEnd-lastEnd) / now.Sub(last).Seconds() / (1 << 20)
		last, lastEnd = now, snap.MasterEnd
		fmt.Fprintf(out, "%5.1fs  master end %8.1f MiB  slave acked %8.1f MiB  lag %8d B  write rate %6.1f MiB/s  slaves %d\n",
			now.Sub(start).Seconds(), mib(snap.MasterEnd), mib(acked), snap.MasterEnd-acked, rate, len(snap.Slaves))
		if writerDone && acked == writerEnd && snap.MasterEnd == writerEnd {
			return nil
		}
		if writerDone && now.Sub(start) > c.duration+30*time.Second {
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
	m := writerEnd.FindSubmatch(b)
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
	printReport(out, d.masterDir, d.slaveDir, rep)
	if !rep.Equal() {
		return verifyDiffers{len(rep.Diffs)}
	}
	fmt.Fprintf(out, "demo OK: %d segments (%.1f MiB of records) replicated; master and slave directories are byte-for-byte identical\n",
		rep.Segments, mib(rep.EndA))
	return nil
}
