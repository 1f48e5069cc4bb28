package bench

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
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
	Exe         string   // the hasidecar binary, run as master and slave
	Only        []string // measurements to run (nil: all, in Names order)
	Runs        int      // runs of each measurement; figures are medians
	Quick       bool     // small sizes and short windows (tests)
	JSON        bool     // one JSON object instead of the table
	Total       int64    // catchup: bytes of segments to replicate
	SegmentSize int64    // catchup, idle, live, sync: segment size
	Body        int      // message body bytes
	Keep        bool     // keep the bench directory
	Fsync       string   // the slave's --fsync
	AckAfter    string   // the slave's --ack-after
	Duration    time.Duration
}

// ErrOnly is a measurement name Names does not hold.
var ErrOnly = errors.New("bench: unknown measurement")

// measurement is one of bench's measurements, one per file. prepare runs
// once (files every run shares), once is one run and returns a sample of
// each of its specs by name.
type measurement interface {
	specs() []spec
	prepare(ctx context.Context, e *env) error
	once(ctx context.Context, e *env) (map[string]sample, error)
}

// env is what a measurement runs with: the config and its own directory.
type env struct {
	Config
	dir string
}

// measurements in the order they run, by the name --only takes.
var measurements = []struct {
	name string
	new  func() measurement
}{
	{"catchup", func() measurement { return &catchup{} }},
	{"tailing", func() measurement { return &tailing{} }},
	{"idle", func() measurement { return &idle{} }},
	{"live", func() measurement { return &live{} }},
	{"sync", func() measurement { return &syncCommit{} }},
	{"verify", func() measurement { return &verifyOnline{} }},
}

// Names are the measurements --only takes, in the order they run.
func Names() []string {
	var n []string
	for _, m := range measurements {
		n = append(n, m.name)
	}
	return n
}

// Result is what Run prints with --json.
type Result struct {
	Date     string   `json:"date"`
	CPUs     int      `json:"cpus"`
	Runs     int      `json:"runs"`
	Quick    bool     `json:"quick"`
	Only     []string `json:"only"`
	Took     float64  `json:"took_seconds"`
	Figures  []Figure `json:"figures"`
	Met      int      `json:"met"`
	NotMet   int      `json:"not_met"`
	Settings Settings `json:"settings"`
}

// Settings are the sizes a run used.
type Settings struct {
	Total       int64   `json:"catchup_bytes"`
	SegmentSize int64   `json:"segment_size"`
	Body        int     `json:"body_size"`
	Fsync       string  `json:"fsync"`
	AckAfter    string  `json:"ack_after"`
	Duration    float64 `json:"duration_seconds"`
}

// Run runs each selected measurement c.Runs times in a new temporary
// directory and prints every figure next to its baseline measured in the
// same run, the ratio, the target and whether it is met.
func Run(ctx context.Context, out io.Writer, c Config) error {
	for _, n := range c.Only {
		if !slices.Contains(Names(), n) {
			return fmt.Errorf("%w %q (want %s)", ErrOnly, n, strings.Join(Names(), ", "))
		}
	}
	if c.Runs <= 0 {
		c.Runs = 1
	}
	dir, err := os.MkdirTemp("", "hasidecar-bench-")
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	if !c.Keep {
		defer os.RemoveAll(dir)
	}
	start := time.Now()
	res := &Result{Date: start.UTC().Format(time.RFC3339), CPUs: numCPU(), Runs: c.Runs, Quick: c.Quick, Only: c.Only,
		Settings: Settings{c.Total, c.SegmentSize, c.Body, c.Fsync, c.AckAfter, c.Duration.Seconds()}}
	if res.Only == nil {
		res.Only = Names()
	}
	for _, m := range measurements {
		if !slices.Contains(res.Only, m.name) {
			continue
		}
		figs, err := runOne(ctx, out, &env{Config: c, dir: filepath.Join(dir, m.name)}, m.name, m.new())
		if err != nil {
			return fmt.Errorf("bench %s: %w", m.name, err)
		}
		res.Figures = append(res.Figures, figs...)
	}
	res.Took = time.Since(start).Seconds()
	for _, f := range res.Figures {
		if f.Met {
			res.Met++
		} else {
			res.NotMet++
		}
	}
	if c.JSON {
		return printJSON(out, res)
	}
	printTable(out, res)
	return nil
}

// runOne prepares m and runs it e.Runs times; the table's progress lines
// go to out unless the output is JSON.
func runOne(ctx context.Context, out io.Writer, e *env, name string, m measurement) ([]Figure, error) {
	if err := os.MkdirAll(e.dir, 0o755); err != nil {
		return nil, err
	}
	if err := m.prepare(ctx, e); err != nil {
		return nil, fmt.Errorf("prepare: %w", err)
	}
	samples := map[string][]sample{}
	for i := range e.Runs {
		t0 := time.Now()
		got, err := m.once(ctx, e)
		if err != nil {
			return nil, fmt.Errorf("run %d: %w", i+1, err)
		}
		for k, v := range got {
			samples[k] = append(samples[k], v)
		}
		if !e.JSON {
			fmt.Fprintf(out, "%s: run %d/%d done in %.1fs\n", name, i+1, e.Runs, time.Since(t0).Seconds())
		}
	}
	var figs []Figure
	for _, s := range m.specs() {
		figs = append(figs, figure(name, s, samples[s.Name]))
	}
	return figs, nil
}

func mib(n int64) float64 { return float64(n) / (1 << 20) }

// fillRocketMQ appends records of body bytes to dir until total bytes.
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

// waitEnd polls the master's status until cond(masterEnd, maxAcked)
// holds; it gives up when one of the children has exited or after a
// minute (nothing bench does takes that long).
func waitEnd(ctx context.Context, cl *ackclient.Client, end int64, cond func(int64, int64) bool, kids ...*spawn.Child) error {
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		snap, err := cl.Query(ctx)
		if err != nil {
			return err
		}
		if cond(snap.MasterEnd, report.MaxAcked(&snap)) {
			return nil
		}
		for _, k := range kids {
			select {
			case <-k.Done():
				return fmt.Errorf("a child exited: %v (end %d)", k.Err(), end)
			default:
			}
		}
		if !spawn.SleepUntil(ctx, time.Now().Add(2*time.Millisecond)) {
			return ctx.Err()
		}
	}
	return fmt.Errorf("not reached within a minute (end %d)", end)
}

// window is how long an idle or loaded CPU window lasts.
func (e *env) window() time.Duration {
	if e.Quick {
		return 500 * time.Millisecond
	}
	return 4 * time.Second
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	if !spawn.SleepUntil(ctx, time.Now().Add(d)) {
		return ctx.Err()
	}
	return nil
}
