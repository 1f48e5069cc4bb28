package bench

import (
	"context"
	"os"
	"path/filepath"
)

// idle is a master and a slave process caught up on one segment of
// idleSegment bytes holding a little data, the writer idle, both with
// their default settings (the slave's --fsync interval included): their
// CPU together over a window, in percent of one core.
type idle struct {
	mdir string
	seg  int64
	end  int64
}

const idleSegment = 1 << 30

func (*idle) specs() []spec {
	return []spec{{Name: "idle_cpu_master_slave", What: "idle CPU, caught-up master + slave (defaults, --scrub-rate 0)", Unit: "% core",
		Target: target{AtMost: true, Limit: 0.2}}}
}

func (i *idle) prepare(_ context.Context, e *env) error {
	i.mdir, i.seg = filepath.Join(e.dir, "master"), idleSegment
	if e.Quick {
		i.seg = e.SegmentSize
	}
	var err error
	i.end, err = fillRocketMQ(i.mdir, 1<<20, i.seg, e.Body)
	return err
}

func (i *idle) once(ctx context.Context, e *env) (map[string]sample, error) {
	sdir := filepath.Join(e.dir, "slave")
	defer os.RemoveAll(sdir)
	p, err := startMaster(ctx, e.Exe, e.dir, i.mdir, i.seg)
	if err != nil {
		return nil, err
	}
	defer p.stop()
	// The default --fsync: its ticker is what must not wake.
	// The scrub is work the operator asked for (it reads the replica at
	// --scrub-rate, pass after pass), not idling: it is off here.
	if err := p.startSlave(ctx, sdir, "--scrub-rate", "0"); err != nil {
		return nil, err
	}
	if err := p.waitAcked(ctx, i.end); err != nil {
		return nil, err
	}
	p.cl.Close() // the status connection must not wake the master in the window
	p.cl = nil
	pct, err := cpuWindow(ctx, e.window(), p.pids()...)
	if err != nil {
		return nil, err
	}
	return map[string]sample{"idle_cpu_master_slave": noBase(pct)}, nil
}
