package loadgen

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/hasidecar/hasidecar/cmd/hasidecar/internal/spawn"
	"github.com/hasidecar/hasidecar/plugins/raw"
	"github.com/hasidecar/hasidecar/plugins/rocketmq"
	"github.com/hasidecar/hasidecar/sidecar/ack"
	"github.com/hasidecar/hasidecar/sidecar/ackclient"
)

// EndPattern matches the end offset Run prints when it is done.
var EndPattern = regexp.MustCompile(`end offset (\d+)`)

// ErrUsage marks a Config that cannot run (a usage mistake).
var ErrUsage = errors.New("invalid load")

// usageError keeps err's message and adds ErrUsage to what it matches.
type usageError struct{ err error }

func (e usageError) Error() string   { return e.err.Error() }
func (e usageError) Unwrap() []error { return []error{e.err, ErrUsage} }

// Appender is what a load drives: one of the layouts' writers.
type Appender interface {
	Append(body []byte) (end int64, err error)
	Close() error
}

// Config is one load run. Dir and a positive BodySize and Writers are
// required.
type Config struct {
	Dir         string
	Layout      string // rocketmq, raw or crc32c
	SegmentSize int64
	SizeGiven   bool // SegmentSize was given: files of another size are refused
	BodySize    int
	Rate        float64       // messages per second (0: as fast as possible)
	Duration    time.Duration // 0: until ctx ends or Count
	Count       int64         // 0: no limit
	Retain      int           // rocketmq: keep at most this many segments (0: all)
	AckSocket   string        // "": no synchronous commits
	Writers     int           // concurrent writers, each appending then waiting
	WaitTimeout time.Duration
}

// Run appends as c says and prints what it did to out, the line
// EndPattern matches last but for the sync summary.
func Run(ctx context.Context, log *zap.Logger, c Config, out io.Writer) error {
	if c.Dir == "" || c.BodySize <= 0 || c.Writers <= 0 {
		return usageError{errors.New("write: --dir is required; --body-size and --writers must be positive")}
	}
	w, err := Open(log, c)
	if err != nil {
		return err
	}
	st, runErr := Loop(ctx, log, c, w)
	if err := w.Close(); err != nil && runErr == nil {
		runErr = err
	}
	fmt.Fprintf(out, "wrote %d messages, end offset %d, %.1f MiB/s\n", st.Count, st.End, st.MiBps())
	if st.Sync.Count() > 0 {
		fmt.Fprintln(out, st.Sync.Summary())
	}
	return runErr
}

// Open opens c.Dir for appending in c.Layout.
func Open(log *zap.Logger, c Config) (Appender, error) {
	size, err := c.size(log)
	if err != nil {
		return nil, err
	}
	if c.Retain > 0 && c.Layout != "rocketmq" {
		return nil, usageError{errors.New("write: --retain is implemented for --layout rocketmq only")}
	}
	switch c.Layout {
	case "rocketmq":
		w, err := rocketmq.OpenWriter(log, c.Dir, rocketmq.WriterOptions{SegmentSize: size, Retain: c.Retain})
		if err != nil {
			return nil, err
		}
		return &rocketmqAppender{w: w}, nil
	case "raw":
		return raw.OpenWriter(c.Dir, size)
	case "crc32c":
		return openCrc32cAppender(log, c.Dir, size)
	}
	return nil, usageError{fmt.Errorf("write: --layout %q: want rocketmq, raw or crc32c", c.Layout)}
}

// rocketmqAppender appends broker-like messages through the mmap writer.
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

// Stats is what a load did.
type Stats struct {
	Count int64 // messages appended
	End   int64 // the end offset after the last
	Bytes int64 // body bytes
	Took  time.Duration
	Sync  Latencies // the synchronous-commit waits
}

// MiBps is the body bytes' rate.
func (s *Stats) MiBps() float64 {
	if s.Took <= 0 {
		return 0
	}
	return float64(s.Bytes) / s.Took.Seconds() / (1 << 20)
}

// Loop appends to w until ctx ends, the duration passes or the count is
// reached, each writer waiting on the ack socket after each append when
// one is configured.
func Loop(ctx context.Context, log *zap.Logger, c Config, w Appender) (*Stats, error) {
	if c.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.Duration)
		defer cancel()
	}
	var cl *ackclient.Client
	if c.AckSocket != "" {
		var err error
		if cl, err = ackclient.Dial(ctx, c.AckSocket); err != nil {
			return &Stats{}, fmt.Errorf("write: %w", err)
		}
		defer cl.Close()
	}
	g := &writeGang{c: c, w: w, cl: cl, log: log, st: &Stats{}, start: time.Now()}
	g.body = make([]byte, c.BodySize)
	rand.Read(g.body)
	var wg sync.WaitGroup
	for range c.Writers {
		wg.Go(func() { g.run(ctx) })
	}
	wg.Wait()
	g.st.Took = time.Since(g.start)
	return g.st, g.err
}

// writeGang is a set of writers sharing one appender, as a broker's
// producer threads share its commit log.
type writeGang struct {
	c     Config
	w     Appender
	cl    *ackclient.Client
	log   *zap.Logger
	body  []byte
	start time.Time

	mu  sync.Mutex // serializes appends, like the broker's put-message lock
	st  *Stats
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
	if g.err != nil || (g.c.Count > 0 && g.st.Count >= g.c.Count) {
		return 0, false
	}
	if g.c.Rate > 0 {
		due := g.start.Add(time.Duration(float64(g.st.Count) / g.c.Rate * float64(time.Second)))
		if !spawn.SleepUntil(ctx, due) {
			return 0, false
		}
	}
	end, err := g.w.Append(g.body)
	if err != nil {
		g.err = fmt.Errorf("append message %d: %w", g.st.Count, err)
		return 0, false
	}
	g.st.Count++
	g.st.Bytes += int64(len(g.body))
	g.st.End = end
	return end, true
}

func (g *writeGang) wait(ctx context.Context, end int64) {
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), g.c.WaitTimeout)
	defer cancel()
	t0 := time.Now()
	res, err := g.cl.Wait(wctx, end)
	d := time.Since(t0)
	g.smu.Lock()
	defer g.smu.Unlock()
	if err != nil {
		g.log.Warn("synchronous commit wait failed", zap.Int64("offset", end), zap.Error(err))
		g.st.Sync.Add(d, "ERROR")
		return
	}
	if res.Status != ack.OK {
		g.log.Warn("synchronous commit not replicated", zap.Int64("offset", end), zap.String("status", res.Status.String()), zap.String("reason", res.Reason))
	}
	g.st.Sync.Add(d, res.Status.String())
}

// NewRocketMQ is an Appender of broker-like messages on w.
func NewRocketMQ(w *rocketmq.Writer) Appender { return &rocketmqAppender{w: w} }
