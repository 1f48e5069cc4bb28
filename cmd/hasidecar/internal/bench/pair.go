package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/hasidecar/hasidecar/cmd/hasidecar/internal/spawn"
	"github.com/hasidecar/hasidecar/sidecar/ackclient"
)

// pair is a master process (and a slave process once started) of the
// real binary on directories under dir, with the master's ack socket
// dialled as cl.
type pair struct {
	exe, dir, mdir string
	seg            int64
	addr, sock     string
	master, slave  *spawn.Child
	cl             *ackclient.Client
}

// startMaster runs a master on mdir (which must hold a segment or get one
// from the caller before a slave is started) with extra flags.
func startMaster(ctx context.Context, exe, dir, mdir string, seg int64, extra ...string) (*pair, error) {
	addr, err := spawn.FreePort()
	if err != nil {
		return nil, err
	}
	p := &pair{exe: exe, dir: dir, mdir: mdir, seg: seg, addr: addr, sock: filepath.Join(dir, "ack.sock")}
	os.Remove(p.sock)
	args := append([]string{"master", "--dir", mdir, "--listen", addr, "--segment-size", strconv.FormatInt(seg, 10),
		"--ack-socket", p.sock, "--log-level", "warn"}, extra...)
	if p.master, err = spawn.Start(ctx, exe, "master", filepath.Join(dir, "master.log"), args...); err != nil {
		return nil, err
	}
	if err := spawn.WaitSocket(ctx, p.sock, 30*time.Second); err != nil {
		p.stop()
		return nil, err
	}
	if p.cl, err = ackclient.Dial(ctx, p.sock); err != nil {
		p.stop()
		return nil, err
	}
	return p, nil
}

// startSlave runs a slave of p's master with extra flags on root/commitlog
// (its state directory goes next to it, root/commitlog.hasidecar, so
// removing root starts the next slave empty).
func (p *pair) startSlave(ctx context.Context, root string, extra ...string) error {
	args := append([]string{"slave", "--dir", filepath.Join(root, "commitlog"), "--master", p.addr, "--segment-size", strconv.FormatInt(p.seg, 10),
		"--log-level", "warn"}, extra...)
	var err error
	p.slave, err = spawn.Start(ctx, p.exe, "slave", filepath.Join(p.dir, "slave.log"), args...)
	return err
}

// waitScanned waits until the master has published end (its start-up
// scan of the directory is over).
func (p *pair) waitScanned(ctx context.Context, end int64) error {
	if err := waitEnd(ctx, p.cl, end, func(s, _ int64) bool { return s >= end }, p.kids()...); err != nil {
		return fmt.Errorf("master did not scan its directory: %w", err)
	}
	return nil
}

// waitAcked waits until a slave has acknowledged end.
func (p *pair) waitAcked(ctx context.Context, end int64) error {
	if err := waitEnd(ctx, p.cl, end, func(_, acked int64) bool { return acked >= end }, p.kids()...); err != nil {
		return fmt.Errorf("slave did not acknowledge offset %d: %w", end, err)
	}
	return nil
}

// pids of the running processes, master first.
func (p *pair) pids() []int {
	pids := []int{p.master.Pid()}
	if p.slave != nil {
		pids = append(pids, p.slave.Pid())
	}
	return pids
}

func (p *pair) kids() []*spawn.Child {
	if p.slave == nil {
		return []*spawn.Child{p.master}
	}
	return []*spawn.Child{p.master, p.slave}
}

// stop ends the slave, then the master.
func (p *pair) stop() {
	if p.cl != nil {
		p.cl.Close()
	}
	if p.slave != nil {
		p.slave.Stop(10 * time.Second)
	}
	p.master.Stop(10 * time.Second)
}

// waitLimit bounds every WAIT bench sends: the master answers by then.
const waitLimit = 5 * time.Second
