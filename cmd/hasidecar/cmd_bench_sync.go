package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"runtime"
	"strconv"
	"time"

	"go.uber.org/zap"

	"github.com/hasidecar/hasidecar/sidecar/ack"
	"github.com/hasidecar/hasidecar/sidecar/ackclient"
)

// benchSync measures synchronous commits: this process is the writer
// (appending RocketMQ records through mmap, as a broker does), a master and
// a slave run as processes, and each append waits on the ack socket for its
// end offset. It runs each concurrency level for d, and a loopback TCP
// ping-pong as the baseline.
func (c *benchCmd) benchSync(ctx context.Context, out io.Writer, dir string, seg int64, levels []int, d time.Duration) error {
	rtt, err := pingPong(ctx, 20000)
	if err != nil {
		return fmt.Errorf("ping-pong baseline: %w", err)
	}
	fmt.Fprintf(out, "loopback TCP ping-pong (8 bytes each way, 20000 round trips): p50=%v p99=%v p999=%v\n",
		rtt.quantile(0.5), rtt.quantile(0.99), rtt.quantile(0.999))
	addr, err := freePort()
	if err != nil {
		return err
	}
	mdir, sock, segs := filepath.Join(dir, "master"), filepath.Join(dir, "ack.sock"), strconv.FormatInt(seg, 10)
	master, err := startChild(ctx, "master", filepath.Join(dir, "master.log"), "master", "--dir", mdir, "--listen", addr,
		"--segment-size", segs, "--ack-socket", sock, "--log-level", "warn")
	if err != nil {
		return err
	}
	defer master.stop(10 * time.Second)
	slave, err := startChild(ctx, "slave", filepath.Join(dir, "slave.log"), "slave", "--dir", filepath.Join(dir, "slave"),
		"--master", addr, "--segment-size", segs, "--fsync", c.fsync, "--ack-after", c.ackAfter, "--log-level", "warn")
	if err != nil {
		return err
	}
	defer slave.stop(10 * time.Second)
	if err := c.warmUp(ctx, mdir, seg, sock); err != nil {
		return err
	}
	if err := ackRoundTrip(ctx, out, sock, 20000); err != nil {
		return err
	}
	fmt.Fprintf(out, "sync commits: slave --ack-after %s --fsync %s, %d-byte bodies, %d CPUs; writers share one ack connection\n",
		c.ackAfter, c.fsync, c.body, runtime.NumCPU())
	var base float64
	for _, n := range levels {
		st, err := c.syncLevel(ctx, mdir, seg, sock, n, d)
		if err != nil {
			return err
		}
		cps := float64(st.sync.results[ack.OK.String()]) / st.took.Seconds()
		if base == 0 {
			base = cps
		}
		fmt.Fprintf(out, "writers=%-3d commits/s=%8.0f (%.1fx of %d writer(s))  %s\n", n, cps, cps/base, levels[0], st.sync.summary())
	}
	return nil
}

// warmUp writes one record so the master has a segment (it answers a
// slave's hello only then), and waits until the slave acknowledged it:
// otherwise the first waits of the first level are NOT_AVAILABLE.
func (c *benchCmd) warmUp(ctx context.Context, mdir string, seg int64, sock string) error {
	if err := waitSocket(ctx, sock, 10*time.Second); err != nil {
		return err
	}
	wc := &writeCmd{dir: mdir, layout: "rocketmq", segmentSize: strconv.FormatInt(seg, 10), bodySize: c.body, count: 1, waiters: 1}
	w, err := wc.open(zap.NewNop())
	if err != nil {
		return err
	}
	st, err := wc.loop(ctx, zap.NewNop(), w)
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("warm-up write: %w", err)
	}
	cl, err := ackclient.Dial(ctx, sock)
	if err != nil {
		return err
	}
	defer cl.Close()
	if err := waitEnd(ctx, cl, st.end, func(_, acked int64) bool { return acked >= st.end }); err != nil {
		return fmt.Errorf("slave did not connect: %w", err)
	}
	return nil
}

func (c *benchCmd) syncLevel(ctx context.Context, mdir string, seg int64, sock string, n int, d time.Duration) (*writeStats, error) {
	wc := &writeCmd{dir: mdir, layout: "rocketmq", segmentSize: strconv.FormatInt(seg, 10), bodySize: c.body,
		duration: d, ackSocket: sock, waiters: n, waitTimeout: 5 * time.Second}
	w, err := wc.open(zap.NewNop())
	if err != nil {
		return nil, err
	}
	defer w.Close()
	return wc.loop(ctx, zap.NewNop(), w)
}

// ackRoundTrip measures WAITs for offset 0, which the master answers OK at
// once: the ack socket and server alone, without replication, to split a
// commit's latency between the socket round trip and the replication path.
func ackRoundTrip(ctx context.Context, out io.Writer, sock string, n int) error {
	cl, err := ackclient.Dial(ctx, sock)
	if err != nil {
		return err
	}
	defer cl.Close()
	l := &latencies{}
	for range n {
		t0 := time.Now()
		res, err := cl.Wait(ctx, 0)
		if err != nil {
			return fmt.Errorf("ack round trip: %w", err)
		}
		l.add(time.Since(t0), res.Status.String())
	}
	fmt.Fprintf(out, "ack socket round trip (WAIT of a committed offset, %d times): p50=%v p99=%v p999=%v\n",
		n, l.quantile(0.5), l.quantile(0.99), l.quantile(0.999))
	return nil
}

// pingPong measures n round trips of 8 bytes over loopback TCP.
func pingPong(ctx context.Context, n int) (*latencies, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		io.Copy(c, c)
	}()
	var dl net.Dialer
	conn, err := dl.DialContext(ctx, "tcp", ln.Addr().String())
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	l := &latencies{}
	buf := make([]byte, 8)
	for i := 0; i < n; i++ {
		t0 := time.Now()
		if _, err := conn.Write(buf); err != nil {
			return nil, err
		}
		if _, err := io.ReadFull(conn, buf); err != nil {
			return nil, err
		}
		l.add(time.Since(t0), "OK")
	}
	return l, nil
}
