package bench

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

	"github.com/hasidecar/hasidecar/cmd/hasidecar/internal/loadgen"
	"github.com/hasidecar/hasidecar/cmd/hasidecar/internal/spawn"
	"github.com/hasidecar/hasidecar/sidecar/ack"
	"github.com/hasidecar/hasidecar/sidecar/ackclient"
)

// benchSync measures synchronous commits: this process is the writer
// (appending RocketMQ records through mmap, as a broker does), a master and
// a slave run as processes, and each append waits on the ack socket for its
// end offset. It runs each concurrency level for d, and a loopback TCP
// ping-pong as the baseline.
func (c *Config) benchSync(ctx context.Context, out io.Writer, dir string, seg int64, levels []int, d time.Duration) error {
	rtt, err := pingPong(ctx, 20000)
	if err != nil {
		return fmt.Errorf("ping-pong baseline: %w", err)
	}
	fmt.Fprintf(out, "loopback TCP ping-pong (8 bytes each way, 20000 round trips): p50=%v p99=%v p999=%v\n",
		rtt.Quantile(0.5), rtt.Quantile(0.99), rtt.Quantile(0.999))
	addr, err := spawn.FreePort()
	if err != nil {
		return err
	}
	mdir, sock, segs := filepath.Join(dir, "master"), filepath.Join(dir, "ack.sock"), strconv.FormatInt(seg, 10)
	master, err := spawn.Start(ctx, c.Exe, "master", filepath.Join(dir, "master.log"), "master", "--dir", mdir, "--listen", addr,
		"--segment-size", segs, "--ack-socket", sock, "--log-level", "warn")
	if err != nil {
		return err
	}
	defer master.Stop(10 * time.Second)
	slave, err := spawn.Start(ctx, c.Exe, "slave", filepath.Join(dir, "slave.log"), "slave", "--dir", filepath.Join(dir, "slave"),
		"--master", addr, "--segment-size", segs, "--fsync", c.Fsync, "--ack-after", c.AckAfter, "--log-level", "warn")
	if err != nil {
		return err
	}
	defer slave.Stop(10 * time.Second)
	if err := c.warmUp(ctx, mdir, seg, sock); err != nil {
		return err
	}
	if err := ackRoundTrip(ctx, out, sock, 20000); err != nil {
		return err
	}
	fmt.Fprintf(out, "sync commits: slave --ack-after %s --fsync %s, %d-byte bodies, %d CPUs; writers share one ack connection\n",
		c.AckAfter, c.Fsync, c.Body, runtime.NumCPU())
	var base float64
	for _, n := range levels {
		st, err := c.syncLevel(ctx, mdir, seg, sock, n, d)
		if err != nil {
			return err
		}
		cps := float64(st.Sync.Result(ack.OK.String())) / st.Took.Seconds()
		if base == 0 {
			base = cps
		}
		fmt.Fprintf(out, "writers=%-3d commits/s=%8.0f (%.1fx of %d writer(s))  %s\n", n, cps, cps/base, levels[0], st.Sync.Summary())
	}
	return nil
}

// warmUp writes one record so the master has a segment (it answers a
// slave's hello only then), and waits until the slave acknowledged it:
// otherwise the first waits of the first level are NOT_AVAILABLE.
func (c *Config) warmUp(ctx context.Context, mdir string, seg int64, sock string) error {
	if err := spawn.WaitSocket(ctx, sock, 10*time.Second); err != nil {
		return err
	}
	wc := loadgen.Config{Dir: mdir, Layout: "rocketmq", SegmentSize: seg, BodySize: c.Body, Count: 1, Writers: 1}
	w, err := loadgen.Open(zap.NewNop(), wc)
	if err != nil {
		return err
	}
	st, err := loadgen.Loop(ctx, zap.NewNop(), wc, w)
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
	if err := waitEnd(ctx, cl, st.End, func(_, acked int64) bool { return acked >= st.End }); err != nil {
		return fmt.Errorf("slave did not connect: %w", err)
	}
	return nil
}

func (c *Config) syncLevel(ctx context.Context, mdir string, seg int64, sock string, n int, d time.Duration) (*loadgen.Stats, error) {
	wc := loadgen.Config{Dir: mdir, Layout: "rocketmq", SegmentSize: seg, BodySize: c.Body,
		Duration: d, AckSocket: sock, Writers: n, WaitTimeout: 5 * time.Second}
	w, err := loadgen.Open(zap.NewNop(), wc)
	if err != nil {
		return nil, err
	}
	defer w.Close()
	return loadgen.Loop(ctx, zap.NewNop(), wc, w)
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
	l := &loadgen.Latencies{}
	for range n {
		t0 := time.Now()
		res, err := cl.Wait(ctx, 0)
		if err != nil {
			return fmt.Errorf("ack round trip: %w", err)
		}
		l.Add(time.Since(t0), res.Status.String())
	}
	fmt.Fprintf(out, "ack socket round trip (WAIT of a committed offset, %d times): p50=%v p99=%v p999=%v\n",
		n, l.Quantile(0.5), l.Quantile(0.99), l.Quantile(0.999))
	return nil
}

// pingPong measures n round trips of 8 bytes over loopback TCP.
func pingPong(ctx context.Context, n int) (*loadgen.Latencies, error) {
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
	l := &loadgen.Latencies{}
	buf := make([]byte, 8)
	for i := 0; i < n; i++ {
		t0 := time.Now()
		if _, err := conn.Write(buf); err != nil {
			return nil, err
		}
		if _, err := io.ReadFull(conn, buf); err != nil {
			return nil, err
		}
		l.Add(time.Since(t0), "OK")
	}
	return l, nil
}
