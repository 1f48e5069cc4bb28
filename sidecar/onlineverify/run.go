package onlineverify

import (
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/hasidecar/hasidecar/sidecar/haproto"
	"github.com/hasidecar/hasidecar/sidecar/pace"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// DefaultChunk is the span of one digests request: large enough that the
// request's round trip is small next to reading it, small enough that the
// progress moves.
const DefaultChunk = 64 << 20

// maxBadBlocks bounds the differing blocks remembered for repair (and the
// memory a badly damaged replica costs): past it differences are still
// counted and listed, but not repaired.
const maxBadBlocks = 1 << 16

// Options tune a run.
type Options struct {
	Rate      int64          // bytes per second read from the slave's files; 0 unlimited
	Chunk     int64          // bytes per digests request (DefaultChunk when 0)
	Repair    bool           // fetch and rewrite differing blocks (repair.go)
	RepairLog string         // the repairs log, required with Repair
	Progress  func(Progress) // called after each chunk; may be nil
	Log       *zap.Logger    // may be nil
}

// Progress is how far a run is: Done of Total bytes to compare.
type Progress struct {
	Done, Total int64
	Elapsed     time.Duration
}

// badBlock is a differing block kept for repair.
type badBlock struct {
	seg       Segment
	off, end  int64
	masterCRC uint32
	diff      int // index in Report.Differences
}

// runner is one run's state.
type runner struct {
	opts    Options
	src     Source
	local   *Local
	info    MasterInfo
	rep     *Report
	bad     []badBlock
	cur     *os.File // the segment file being read
	curName string
	bufs    [][]byte // one block buffer per reading worker
}

// Run compares the slave's data described by local with the master's
// digests from src, block by block, and with Options.Repair rewrites the
// differing blocks it may (repair.go). It returns an error only when the
// comparison could not be made; differences are in the report.
func Run(ctx context.Context, src Source, local *Local, opts Options) (*Report, error) {
	start := time.Now()
	if opts.Chunk <= 0 {
		opts.Chunk = DefaultChunk
	}
	if opts.Log == nil {
		opts.Log = zap.NewNop()
	}
	if opts.Repair && opts.RepairLog == "" {
		return nil, errors.New("onlineverify: repair needs a repairs log path")
	}
	info, err := src.Info()
	if err != nil {
		return nil, fmt.Errorf("master info: %w", err)
	}
	if err := checkInfo(info, local.SegmentSize); err != nil {
		return nil, err
	}
	// Every chunk after a block start must start at one too, and one
	// digests request spans at most MaxDigestSpan.
	opts.Chunk = max(info.BlockSize, min(opts.Chunk, haproto.MaxDigestSpan)/info.BlockSize*info.BlockSize)
	r := &runner{opts: opts, src: src, local: local, info: info, bufs: blockBuffers(info.BlockSize),
		rep: &Report{MasterEnd: info.End, LocalBase: local.Base, LocalEnd: local.End, LocalEndFrom: local.EndFrom,
			BlockSize: info.BlockSize, Differences: []Difference{}, NotCompared: []Skipped{}}}
	defer r.closeFiles()
	tasks, err := plan(info, local, r.rep)
	if err == nil {
		err = r.compare(ctx, tasks)
	}
	if err == nil && opts.Repair {
		err = r.repairAll(ctx)
	}
	r.rep.Seconds = time.Since(start).Seconds()
	if err != nil {
		return r.rep, err
	}
	return r.rep, nil
}

// digestBatch is one digests answer, fetched ahead of the reading.
type digestBatch struct {
	t        task
	from, to int64
	crcs     []uint32
	err      error
}

// compare reads the tasks' bytes at the rate while the next chunk's
// digests are already on their way (prefetch), so that the master's round
// trip does not add to the reading time.
func (r *runner) compare(ctx context.Context, tasks []task) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	total := int64(0)
	for _, t := range tasks {
		total += t.to - t.from
	}
	ch := make(chan digestBatch, 2)
	go r.prefetch(ctx, tasks, ch)
	defer func() { // the prefetcher ends after its current request
		cancel()
		for range ch {
		}
	}()
	p := pace.New(r.opts.Rate)
	done, t0 := int64(0), time.Now()
	for b := range ch {
		if b.err != nil {
			return b.err
		}
		if err := r.compareBatch(ctx, b, p); err != nil {
			return err
		}
		done += b.to - b.from
		if r.opts.Progress != nil {
			r.opts.Progress(Progress{Done: done, Total: total, Elapsed: time.Since(t0)})
		}
	}
	return ctx.Err()
}

// prefetch asks the master for each chunk's digests in order; it stops at
// the first error (sent last) or when ctx ends.
func (r *runner) prefetch(ctx context.Context, tasks []task, ch chan<- digestBatch) {
	defer close(ch)
	for _, t := range tasks {
		for from := t.from; from < t.to; from += r.opts.Chunk {
			to := min(t.to, from+r.opts.Chunk)
			crcs, err := r.src.Digests(from, to)
			b := digestBatch{t: t, from: from, to: to, crcs: crcs, err: err}
			if err != nil {
				b.err = fmt.Errorf("master digests [%d, %d): %w", from, to, err)
			} else if want := int((to - from + r.info.BlockSize - 1) / r.info.BlockSize); len(crcs) != want {
				b.err = fmt.Errorf("master sent %d digests for [%d, %d), want %d: %w", len(crcs), from, to, want, ErrBadMaster)
			}
			select {
			case ch <- b:
			case <-ctx.Done():
				return
			}
			if b.err != nil {
				return
			}
		}
	}
}

// compareBatch compares each block of b with the master's CRC.
func (r *runner) compareBatch(ctx context.Context, b digestBatch, p *pace.Pacer) error {
	sums, err := r.sumBlocks(b.t.seg, b.from, b.to)
	if err != nil {
		return err
	}
	for i, want := range b.crcs {
		off := b.from + int64(i)*r.info.BlockSize
		end := min(off+r.info.BlockSize, b.to)
		r.rep.ComparedBytes += end - off
		if sums[i].whole && sums[i].crc == want {
			r.rep.MatchedBytes += end - off
		} else {
			d := r.rep.differ(off, end, b.t.seg.Name)
			switch {
			case d >= 0 && len(r.bad) < maxBadBlocks:
				r.bad = append(r.bad, badBlock{seg: b.t.seg, off: off, end: end, masterCRC: want, diff: d})
			case d >= 0 && r.opts.Repair:
				r.rep.Differences[d].Repair = repairTooMany
			}
		}
		if err := p.Take(ctx, end-off); err != nil {
			return err
		}
	}
	return nil
}

// blockSum is the slave's CRC-32C of one block; whole is false when the
// file ends first (bytes the slave's range claims are missing: a
// difference, whatever the CRC of the rest).
type blockSum struct {
	crc   uint32
	whole bool
	err   error
}

// sumBlocks computes the slave's CRCs of the blocks of [from, to) of seg
// with one worker per buffer, each reading and hashing whole blocks, so
// that reading one block overlaps hashing another: with hashing done in
// line, the verify runs at well below the disk's read rate.
func (r *runner) sumBlocks(seg Segment, from, to int64) ([]blockSum, error) {
	f, err := r.file(seg.Name)
	if err != nil {
		return nil, err
	}
	bs := r.info.BlockSize
	n := int((to - from + bs - 1) / bs)
	sums := make([]blockSum, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := range min(len(r.bufs), n) {
		buf := r.bufs[w]
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				off := from + int64(i)*bs
				sums[i] = readSum(f, buf[:min(off+bs, to)-off], off-seg.Base)
			}
		})
	}
	wg.Wait()
	for i, s := range sums {
		if s.err != nil {
			return nil, fmt.Errorf("read %s at %d: %w", seg.Name, from-seg.Base+int64(i)*bs, s.err)
		}
	}
	return sums, nil
}

// readSum reads len(p) bytes at pos of f and hashes what it got.
func readSum(f *os.File, p []byte, pos int64) blockSum {
	n, err := f.ReadAt(p, pos)
	if err != nil && !errors.Is(err, io.EOF) {
		return blockSum{err: err}
	}
	return blockSum{crc: crc32.Checksum(p[:n], castagnoli), whole: n == len(p)}
}

// localCRC is one block's sum, for repair (which runs alone).
func (r *runner) localCRC(seg Segment, off, end int64) (uint32, bool, error) {
	sums, err := r.sumBlocks(seg, off, end)
	if err != nil {
		return 0, false, err
	}
	return sums[0].crc, sums[0].whole, nil
}

// blockBuffers are the readers' buffers: one per CPU, at most 4 (reading
// from the page cache, more only contend).
func blockBuffers(bs int64) [][]byte {
	b := make([][]byte, min(runtime.GOMAXPROCS(0), 4))
	for i := range b {
		b[i] = make([]byte, bs)
	}
	return b
}

// file is the slave's segment file name, open for reading. Only one is
// kept open (the runs go segment by segment), so a directory of thousands
// of segments costs one descriptor.
func (r *runner) file(name string) (*os.File, error) {
	if r.cur != nil && r.curName == name {
		return r.cur, nil
	}
	r.closeFiles()
	f, err := os.Open(filepath.Join(r.local.Dir, name))
	if err != nil {
		return nil, fmt.Errorf("open slave segment: %w", err)
	}
	r.cur, r.curName = f, name
	return f, nil
}

func (r *runner) closeFiles() {
	if r.cur != nil {
		r.cur.Close()
		r.cur = nil
	}
}
