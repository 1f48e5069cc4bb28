package bench

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/hasidecar/hasidecar/plugins/rocketmq"
	"github.com/hasidecar/hasidecar/sidecar/onlineverify"
)

// verifyOnline is `verify --online` (in this process, at no rate limit) of
// a copy of the master's segments against a master process's digests,
// next to a plain read of the same files' same bytes in the same run.
type verifyOnline struct {
	src, copy string
	end       int64
}

// verifyTotal is the bytes of matching segments verified (the issue's
// 2 GiB); quick runs take 32 MiB.
func (e *env) verifyTotal() int64 {
	if e.Quick {
		return 32 << 20
	}
	return 2 << 30
}

func (*verifyOnline) specs() []spec {
	return []spec{
		{Name: "verify_online_throughput", What: "verify --online of matching segments", Unit: "MiB/s",
			Baseline: "a plain read (1 MiB preads) of the same bytes of the same files in this process, MiB/s",
			Target:   target{OnRatio: true, Limit: 0.8}},
		{Name: "verify_online_cpu_per_gib", What: "verify --online CPU, verifier+master (target set by bench; the issue gives none)", Unit: "CPU-s/GiB",
			Baseline: "the plain read's CPU-seconds per GiB (getrusage of this process)",
			Target:   target{OnRatio: true, AtMost: true, Limit: 2}},
	}
}

// prepare writes the master's segments and a byte-identical copy (the
// slave's directory), both left in the page cache.
func (v *verifyOnline) prepare(_ context.Context, e *env) error {
	v.src, v.copy = filepath.Join(e.dir, "master"), filepath.Join(e.dir, "slave")
	var err error
	if v.end, err = fillRocketMQ(v.src, e.verifyTotal(), e.SegmentSize, e.Body); err != nil {
		return err
	}
	return copyDir(v.src, v.copy)
}

func (v *verifyOnline) once(ctx context.Context, e *env) (map[string]sample, error) {
	p, err := startMaster(ctx, e.Exe, e.dir, v.src, e.SegmentSize)
	if err != nil {
		return nil, err
	}
	defer p.stop()
	if err := p.waitScanned(ctx, v.end); err != nil {
		return nil, err
	}
	dial := func(ctx context.Context) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "tcp", p.addr)
	}
	if err := waitHashed(ctx, dial, v.end); err != nil {
		return nil, err
	}
	local, err := v.local(e)
	if err != nil {
		return nil, err
	}
	readTook, readCPU, err := plainRead(local)
	if err != nil {
		return nil, fmt.Errorf("plain read: %w", err)
	}
	m, err := startCPU(p.master.Pid())
	if err != nil {
		return nil, err
	}
	cpu0, t0 := selfCPU(), time.Now()
	rep, err := verifyOnce(ctx, dial, local)
	took, cpu := time.Since(t0), selfCPU()-cpu0
	if err != nil {
		return nil, err
	}
	used, _, err := m.stop()
	if err != nil {
		return nil, err
	}
	n := local.End - local.Base
	if rep.MatchedBytes != n || len(rep.Differences) != 0 {
		return nil, fmt.Errorf("verify compared %d of %d bytes, %d matching, %d differing ranges", rep.ComparedBytes, n, rep.MatchedBytes, len(rep.Differences))
	}
	gib := float64(n) / (1 << 30)
	return map[string]sample{
		"verify_online_throughput":  vs(mib(n)/took.Seconds(), mib(n)/readTook.Seconds()),
		"verify_online_cpu_per_gib": vs((cpu+used[0]).Seconds()/gib, readCPU.Seconds()/gib),
	}, nil
}

func (v *verifyOnline) local(e *env) (*onlineverify.Local, error) {
	lay, err := rocketmq.New(rocketmq.Options{SegmentSize: e.SegmentSize})
	if err != nil {
		return nil, err
	}
	return onlineverify.OpenLocal(lay, v.copy, "")
}

func verifyOnce(ctx context.Context, dial func(context.Context) (net.Conn, error), local *onlineverify.Local) (*onlineverify.Report, error) {
	src, err := onlineverify.Dial(ctx, dial)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	return onlineverify.Run(ctx, src, local, onlineverify.Options{})
}

// waitHashed waits until the master's lineage covers every byte below end
// (its back-fill of the existing files is over), for a minute at most.
func waitHashed(ctx context.Context, dial func(context.Context) (net.Conn, error), end int64) error {
	src, err := onlineverify.Dial(ctx, dial)
	if err != nil {
		return err
	}
	defer src.Close()
	deadline := time.Now().Add(time.Minute)
	for {
		info, err := src.Info()
		if err != nil {
			return fmt.Errorf("master digest info: %w", err)
		}
		if hashedTo(info, end) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("master lineage did not cover offset %d within a minute", end)
		}
		if err := sleep(ctx, 20*time.Millisecond); err != nil {
			return err
		}
	}
}

func hashedTo(info onlineverify.MasterInfo, end int64) bool {
	if info.End < end {
		return false
	}
	for _, s := range info.Segments {
		if s.Covered < min(s.Base+s.Size, end) && s.Base < end {
			return false
		}
	}
	return true
}

// plainRead reads the bytes verify compares, [Base, End) of the local
// segments, with 1 MiB preads as verify does: the baseline.
func plainRead(l *onlineverify.Local) (time.Duration, time.Duration, error) {
	buf := make([]byte, 1<<20)
	cpu0, t0 := selfCPU(), time.Now()
	for base := l.Base - l.Base%l.SegmentSize; base < l.End; base += l.SegmentSize {
		f, err := os.Open(filepath.Join(l.Dir, l.Names[base]))
		if err != nil {
			return 0, 0, err
		}
		lo, hi := max(base, l.Base)-base, min(base+l.SegmentSize, l.End)-base
		for off := lo; off < hi; off += int64(len(buf)) {
			if _, err := f.ReadAt(buf[:min(int64(len(buf)), hi-off)], off); err != nil && err != io.EOF {
				f.Close()
				return 0, 0, err
			}
		}
		f.Close()
	}
	return time.Since(t0), selfCPU() - cpu0, nil
}

// copyDir copies the regular files of src into a new dst.
func copyDir(src, dst string) error {
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	names, err := listFiles(src)
	if err != nil {
		return err
	}
	for _, n := range names {
		if err := copyFile(filepath.Join(src, n), filepath.Join(dst, n)); err != nil {
			return err
		}
	}
	return nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
