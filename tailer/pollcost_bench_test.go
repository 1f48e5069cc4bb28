package tailer

import (
	"encoding/binary"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/hasidecar/hasidecar/plugins"
	"github.com/hasidecar/hasidecar/plugins/fsio"
	"github.com/hasidecar/hasidecar/sidecar/sidecartest"
)

// BenchmarkTailPollCost measures what tailing costs with the master's
// default timings, at 10 and 10,000 sealed segments (64 MiB each, sparse)
// below a live one: caught up and idle, and following a 20 MB/s mmap
// writer (4 KiB records every millisecond, no hints). One op is one second
// of tailing; the metrics are per second of wall time:
//
//   - cpu%: CPU time of the process minus the writer's thread, as a
//     percentage of one core (the tailer and the Go runtime under it);
//   - wakes/s: loop steps (each wake-up of the tailer's goroutine);
//   - fsops/s: file-system calls the tailer makes through Options.FS
//     (open, stat, fstat, list) plus the layout's Scan calls (each an open,
//     fstat, pread and close for the built-in layouts);
//   - cpu-us/wake and fsops/wake: the same per loop step (per poll).
//
// The per-poll figures at 10,000 sealed segments should be those at 10:
// a poll touches only the live segment. The start-up walk (one stat per
// sealed segment) is outside the measurement.
//
// Run: go test -run XXX -bench TailPollCost -benchtime 3x -count 5 ./tailer/
func BenchmarkTailPollCost(b *testing.B) {
	for _, sealed := range []int{10, 10000} {
		for _, rate := range []int{0, 20 << 20} {
			name := fmt.Sprintf("sealed=%d/idle", sealed)
			if rate > 0 {
				name = fmt.Sprintf("sealed=%d/writer=%dMBps", sealed, rate>>20)
			}
			b.Run(name, func(b *testing.B) { benchPollCost(b, sealed, rate) })
		}
	}
}

const pollCostSegment = 64 << 20

func benchPollCost(b *testing.B, sealed, rate int) {
	dir := b.TempDir()
	l := &countingLayout{testLayout: testLayout{size: pollCostSegment, prealloc: true}}
	writeSealed(b, dir, &l.testLayout, sealed)
	live := int64(sealed) * pollCostSegment
	w := newMmapWriter(b, dir, &l.testLayout, live)
	end := w.Append(payloadAt(0, 4096-hdrSize))
	cfs := &countingFS{FS: fsio.OS()}
	tl := runTailer(b, New(zap.NewNop(), dir, l, Options{FS: cfs}))
	tl.Hint(end)
	waitState(b, tl, 2*time.Minute, "caught up", func(s State) bool { return s.End == end })
	// Measure the steady state: the start-up walk's garbage collected and
	// no sealed mapping still lingering from it.
	runtime.GC()
	sidecartest.Eventually(b, 2*lingerFor+5*time.Second, "no lingering sealed mapping", func() bool {
		tl.lz.mu.Lock()
		defer tl.lz.mu.Unlock()
		return len(tl.lz.maps) == 0
	})

	var writerCPU atomic.Int64
	stop := make(chan struct{})
	wdone := make(chan struct{})
	if rate > 0 {
		go writeAtRate(w, rate, stop, wdone, &writerCPU)
	} else {
		close(wdone)
	}
	b.ResetTimer()
	cpu0, wakes0, ops0 := processCPU(), tl.wakes.Load(), cfs.n.Load()+l.scans.Load()
	t0 := time.Now()
	// The measurement window: b.N seconds of wall time, whatever happens in
	// them (a duration is what is measured, not a condition awaited).
	window := time.NewTimer(time.Duration(b.N) * time.Second)
	<-window.C
	cpu, wall := processCPU()-cpu0, time.Since(t0)
	wakes, ops := tl.wakes.Load()-wakes0, cfs.n.Load()+l.scans.Load()-ops0
	close(stop)
	<-wdone
	b.StopTimer()
	cpu -= time.Duration(writerCPU.Load())
	secs := wall.Seconds()
	b.ReportMetric(100*cpu.Seconds()/secs, "cpu%")
	b.ReportMetric(float64(wakes)/secs, "wakes/s")
	b.ReportMetric(float64(ops)/secs, "fsops/s")
	if wakes > 0 {
		b.ReportMetric(float64(cpu.Microseconds())/float64(wakes), "cpu-us/wake")
		b.ReportMetric(float64(ops)/float64(wakes), "fsops/wake")
	}
	if rate > 0 && tl.State().End <= end {
		b.Fatalf("the tailer did not follow the writer: end %d", tl.State().End)
	}
}

// writeSealed creates n sealed, sparse segments: a blank record at the
// start of each declares it full.
func writeSealed(b *testing.B, dir string, l *testLayout, n int) {
	var hdr [hdrSize]byte
	binary.BigEndian.PutUint32(hdr[:4], uint32(l.size))
	binary.BigEndian.PutUint32(hdr[4:], blankMagic)
	for i := range n {
		path := filepath.Join(dir, l.SegmentName(int64(i)*l.size))
		f, err := os.Create(path)
		if err != nil {
			b.Fatal(err)
		}
		_, err = f.Write(hdr[:])
		if err == nil {
			err = f.Truncate(l.size)
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			b.Fatal(err)
		}
	}
}

// writeAtRate appends 4 KiB records at rate bytes/s, in a burst each
// millisecond, on its own OS thread so that its CPU can be subtracted.
func writeAtRate(w *mmapWriter, rate int, stop <-chan struct{}, done chan<- struct{}, cpu *atomic.Int64) {
	defer close(done)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	c0 := threadCPU()
	defer func() { cpu.Store(int64(threadCPU() - c0)) }()
	p := payloadAt(1, 4096-hdrSize)
	start, written := time.Now(), 0
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		due := int(time.Since(start).Seconds() * float64(rate))
		for ; written < due; written += 4096 {
			w.Append(p)
		}
	}
}

func processCPU() time.Duration { return rusage(syscall.RUSAGE_SELF) }

func threadCPU() time.Duration { return rusage(1) } // RUSAGE_THREAD

func rusage(who int) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(who, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// countingFS counts the calls the tailer makes through its FS seam,
// including those on the files it opens.
type countingFS struct {
	fsio.FS
	n            atomic.Int64 // every call
	opens, stats atomic.Int64 // OpenFile and Stat (by path) calls
}

func (c *countingFS) OpenFile(name string, flag int, perm fs.FileMode) (fsio.File, error) {
	c.n.Add(1)
	c.opens.Add(1)
	f, err := c.FS.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return &countingFile{File: f, n: &c.n}, nil
}

func (c *countingFS) Stat(name string) (fs.FileInfo, error) {
	c.n.Add(1)
	c.stats.Add(1)
	return c.FS.Stat(name)
}

func (c *countingFS) ReadDir(dir string) ([]fs.DirEntry, error) {
	c.n.Add(1)
	return c.FS.ReadDir(dir)
}

type countingFile struct {
	fsio.File
	n *atomic.Int64
}

func (f *countingFile) Unwrap() fsio.File { return f.File }

func (f *countingFile) Stat() (fs.FileInfo, error) {
	f.n.Add(1)
	return f.File.Stat()
}

func (f *countingFile) ReadAt(p []byte, off int64) (int, error) {
	f.n.Add(1)
	return f.File.ReadAt(p, off)
}

func (f *countingFile) Close() error {
	f.n.Add(1)
	return f.File.Close()
}

// countingLayout counts Scan calls.
type countingLayout struct {
	testLayout
	scans atomic.Int64
}

func (l *countingLayout) Scan(path string, start, from int64) (plugins.Scan, error) {
	l.scans.Add(1)
	return l.testLayout.Scan(path, start, from)
}
