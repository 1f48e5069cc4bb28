package bench

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/hasidecar/hasidecar/cmd/hasidecar/internal/spawn"
)

// tailing is a master process (no slave, the writer idle) tailing a
// directory of few and of many sealed segments of tailSegment bytes: its
// CPU over a window once its start-up scan is over. The target is a cost
// that does not grow with the sealed segments (issue 14): the many-segment
// master within tailingSlack of the few-segment one.
type tailing struct {
	few, many       string
	fewEnd, manyEnd int64
	nFew, nMany     int
}

const (
	tailSegment  = 64 << 10
	tailBody     = 16 << 10 // three records a segment: the fill is quick
	tailingSlack = 1.5
)

func (t *tailing) specs() []spec {
	return []spec{{Name: "tailing_cpu_many_segments", Unit: "% core",
		What:     fmt.Sprintf("tailing CPU, master, idle writer, %d sealed segments", t.nMany),
		Baseline: fmt.Sprintf("the same master on %d sealed segments, %% of a core", t.nFew),
		Target:   target{OnRatio: true, AtMost: true, Limit: tailingSlack}}}
}

func (t *tailing) prepare(_ context.Context, e *env) error {
	t.nFew, t.nMany = 10, 10000
	if e.Quick {
		t.nMany = 200
	}
	t.few, t.many = filepath.Join(e.dir, "few"), filepath.Join(e.dir, "many")
	var err error
	// N sealed segments and a live one holding a record or two.
	if t.fewEnd, err = fillRocketMQ(t.few, int64(t.nFew)*tailSegment+1, tailSegment, tailBody); err != nil {
		return err
	}
	t.manyEnd, err = fillRocketMQ(t.many, int64(t.nMany)*tailSegment+1, tailSegment, tailBody)
	return err
}

func (t *tailing) once(ctx context.Context, e *env) (map[string]sample, error) {
	few, err := t.idleMaster(ctx, e, t.few, t.fewEnd)
	if err != nil {
		return nil, err
	}
	many, err := t.idleMaster(ctx, e, t.many, t.manyEnd)
	if err != nil {
		return nil, err
	}
	return map[string]sample{"tailing_cpu_many_segments": vs(many, few)}, nil
}

// idleMaster is a master's CPU, in percent of a core, over a window after
// it has published end and settled.
func (t *tailing) idleMaster(ctx context.Context, e *env, dir string, end int64) (float64, error) {
	maddr, err := spawn.FreePort()
	if err != nil {
		return 0, err
	}
	p, err := startMaster(ctx, e.Exe, e.dir, dir, tailSegment, "--metrics-listen", maddr)
	if err != nil {
		return 0, err
	}
	defer p.stop()
	if err := p.waitScanned(ctx, end); err != nil {
		return 0, err
	}
	if err := waitLineage(ctx, maddr, end); err != nil {
		return 0, err
	}
	p.cl.Close() // the status connection must not wake the master in the window
	p.cl = nil
	return cpuWindow(ctx, e.window(), p.pids()...)
}

// cpuWindow waits a settle time, then returns the processes' CPU over w,
// summed, in percent of one core.
func cpuWindow(ctx context.Context, w time.Duration, pids ...int) (float64, error) {
	if err := sleep(ctx, w/4); err != nil {
		return 0, err
	}
	m, err := startCPU(pids...)
	if err != nil {
		return 0, err
	}
	if err := sleep(ctx, w); err != nil {
		return 0, err
	}
	used, wall, err := m.stop()
	if err != nil {
		return 0, err
	}
	var sum time.Duration
	for _, u := range used {
		sum += u
	}
	return percent(sum, wall), nil
}
