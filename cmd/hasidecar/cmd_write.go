package main

import (
	"context"
	"crypto/rand"
	"flag"
	"fmt"
	"io"
	"regexp"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/hasidecar/hasidecar/plugins/raw"
	"github.com/hasidecar/hasidecar/plugins/rocketmq"
	"github.com/hasidecar/hasidecar/sidecar/ack"
	"github.com/hasidecar/hasidecar/sidecar/ackclient"
)

// writerEnd matches the end offset the write command prints when it is done.
var writerEnd = regexp.MustCompile(`end offset (\d+)`)

// appender is what the write command drives: one of the layouts' writers.
type appender interface {
	Append(body []byte) (end int64, err error)
	Close() error
}

type writeCmd struct {
	log         logFlags
	dir         string
	layout      string
	segmentSize string
	bodySize    int
	rate        float64
	duration    time.Duration
	count       int64
	retain      int
	ackSocket   string
	waiters     int
	waitTimeout time.Duration
	sizeGiven   bool // --segment-size was on the command line
}

func (c *writeCmd) flags(stderr io.Writer) *flag.FlagSet {
	fs := newFlagSet("write")
	c.log.register(fs)
	fs.StringVar(&c.dir, "dir", "", "segment directory to append to (created if missing; continues an existing one)")
	fs.StringVar(&c.layout, "layout", "rocketmq", "rocketmq (v1 records through mmap, like a broker), raw (write(2) appends) or crc32c (the example plugin's format)")
	fs.StringVar(&c.segmentSize, "segment-size", defaultSegmentSize, "segment size (rocketmq, crc32c: taken from the directory's segment files when not given)")
	fs.IntVar(&c.bodySize, "body-size", 1024, "message body bytes")
	fs.Float64Var(&c.rate, "rate", 0, "messages per second (0: as fast as possible)")
	fs.DurationVar(&c.duration, "duration", 0, "stop after this long (0: until interrupted or --count)")
	fs.Int64Var(&c.count, "count", 0, "stop after this many messages (0: no limit)")
	fs.IntVar(&c.retain, "retain", 0, "rocketmq: keep at most this many segments, deleting the oldest (0: keep all)")
	fs.StringVar(&c.ackSocket, "ack-socket", "", "make each message a synchronous commit: wait on the master's ack socket")
	fs.IntVar(&c.waiters, "writers", 1, "with --ack-socket: concurrent writers, each appending then waiting")
	fs.DurationVar(&c.waitTimeout, "wait-timeout", 5*time.Second, "with --ack-socket: the wait's timeout")
	return fs
}

func runWrite(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c writeCmd
	fs := c.flags(stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	c.sizeGiven = setOnCommandLine(fs, "segment-size")
	if c.dir == "" || c.bodySize <= 0 || c.waiters <= 0 {
		return usageError{fmt.Errorf("write: --dir is required; --body-size and --writers must be positive")}
	}
	log, _, err := c.log.build(stderr)
	if err != nil {
		return err
	}
	defer log.Sync()
	w, err := c.open(log)
	if err != nil {
		return err
	}
	st, runErr := c.loop(ctx, log, w)
	if err := w.Close(); err != nil && runErr == nil {
		runErr = err
	}
	fmt.Fprintf(stdout, "wrote %d messages, end offset %d, %.1f MiB/s\n", st.count, st.end, st.mibps())
	if st.sync.count() > 0 {
		fmt.Fprintln(stdout, st.sync.summary())
	}
	return runErr
}

func (c *writeCmd) open(log *zap.Logger) (appender, error) {
	size, err := c.size(log)
	if err != nil {
		return nil, err
	}
	if c.retain > 0 && c.layout != "rocketmq" {
		return nil, usageError{fmt.Errorf("write: --retain is implemented for --layout rocketmq only")}
	}
	switch c.layout {
	case "rocketmq":
		w, err := rocketmq.OpenWriter(log, c.dir, rocketmq.WriterOptions{SegmentSize: size, Retain: c.retain})
		if err != nil {
			return nil, err
		}
		return &rocketmqAppender{w: w}, nil
	case "raw":
		return raw.OpenWriter(c.dir, size)
	case "crc32c":
		return openCrc32cAppender(log, c.dir, size)
	}
	return nil, usageError{fmt.Errorf("write: --layout %q: want rocketmq, raw or crc32c", c.layout)}
}

type rocketmqAppender struct {
	w  *rocketmq.Writer
	qo int64
}

func (a *rocketmqAppender) Append(body []byte) (int64, error) {
	a.qo++
	now := time.Now().UnixMilli()
	return a.w.Append(&rocketmq.Message{Topic: "hasidecar-demo", QueueID: int32(a.qo % 4), QueueOffset: a.qo / 4, Body: body,
		Properties: "KEYS\x01demo\x02", BornTimestamp: now, StoreTimestamp: now})
}

func (a *rocketmqAppender) Close() error { return a.w.Close() }

// writeStats is what a write run did.
type writeStats struct {
	count int64
	end   int64
	bytes int64
	took  time.Duration
	sync  latencies
}

func (s *writeStats) mibps() float64 {
	if s.took <= 0 {
		return 0
	}
	return float64(s.bytes) / s.took.Seconds() / (1 << 20)
}

// loop appends until ctx ends, the duration passes or the count is reached.
func (c *writeCmd) loop(ctx context.Context, log *zap.Logger, w appender) (*writeStats, error) {
	if c.duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.duration)
		defer cancel()
	}
	var cl *ackclient.Client
	if c.ackSocket != "" {
		var err error
		if cl, err = ackclient.Dial(ctx, c.ackSocket); err != nil {
			return &writeStats{}, fmt.Errorf("write: %w", err)
		}
		defer cl.Close()
	}
	g := &writeGang{c: c, w: w, cl: cl, log: log, st: &writeStats{}, start: time.Now()}
	g.body = make([]byte, c.bodySize)
	rand.Read(g.body)
	var wg sync.WaitGroup
	for range c.waiters {
		wg.Go(func() { g.run(ctx) })
	}
	wg.Wait()
	g.st.took = time.Since(g.start)
	return g.st, g.err
}

// writeGang is a set of writers sharing one appender, as a broker's
// producer threads share its commit log.
type writeGang struct {
	c     *writeCmd
	w     appender
	cl    *ackclient.Client
	log   *zap.Logger
	body  []byte
	start time.Time

	mu  sync.Mutex // serializes appends, like the broker's put-message lock
	st  *writeStats
	err error

	smu sync.Mutex // guards st.sync: recording a wait must not hold up appends
}

func (g *writeGang) run(ctx context.Context) {
	for ctx.Err() == nil {
		end, ok := g.appendOne(ctx)
		if !ok {
			return
		}
		if g.cl != nil {
			g.wait(ctx, end)
		}
	}
}

func (g *writeGang) appendOne(ctx context.Context) (int64, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.err != nil || (g.c.count > 0 && g.st.count >= g.c.count) {
		return 0, false
	}
	if g.c.rate > 0 {
		due := g.start.Add(time.Duration(float64(g.st.count) / g.c.rate * float64(time.Second)))
		if !sleepUntil(ctx, due) {
			return 0, false
		}
	}
	end, err := g.w.Append(g.body)
	if err != nil {
		g.err = fmt.Errorf("append message %d: %w", g.st.count, err)
		return 0, false
	}
	g.st.count++
	g.st.bytes += int64(len(g.body))
	g.st.end = end
	return end, true
}

func (g *writeGang) wait(ctx context.Context, end int64) {
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), g.c.waitTimeout)
	defer cancel()
	t0 := time.Now()
	res, err := g.cl.Wait(wctx, end)
	d := time.Since(t0)
	g.smu.Lock()
	defer g.smu.Unlock()
	if err != nil {
		g.log.Warn("synchronous commit wait failed", zap.Int64("offset", end), zap.Error(err))
		g.st.sync.add(d, "ERROR")
		return
	}
	if res.Status != ack.OK {
		g.log.Warn("synchronous commit not replicated", zap.Int64("offset", end), zap.String("status", res.Status.String()), zap.String("reason", res.Reason))
	}
	g.st.sync.add(d, res.Status.String())
}

func sleepUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return true
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-timer.C:
		return true
	}
}
