package meta

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hasidecar/hasidecar/sidecar/sidecartest"
)

// versions builds n distinct JSON documents of one size, each uniform but
// for its first bytes, so that any mix of two versions or any prefix is
// detectable.
func versions(n, size int) (contents [][]byte, sums map[[32]byte]int) {
	sums = map[[32]byte]int{}
	for i := range n {
		b := bytes.Repeat([]byte{byte('a' + i)}, size)
		copy(b, fmt.Sprintf(`{"v":%d,"pad":"`, i))
		copy(b[size-2:], `"}`)
		contents = append(contents, b)
		sums[sha256.Sum256(b)] = i
	}
	return contents, sums
}

// rewriter rewrites a file in place (truncate, then write in 64 KiB
// chunks) with the versions in turn, as fast as it can, until stopped; the
// test can pause it between two versions.
type rewriter struct {
	path     string
	contents [][]byte
	pauseReq chan chan int // the writer answers with the version on disk and waits for resume
	resume   chan struct{}
	stop     chan struct{}
	rounds   int
}

func (w *rewriter) run(t *testing.T) {
	f, err := os.OpenFile(w.path, os.O_RDWR, 0)
	if err != nil {
		t.Error(err)
		return
	}
	defer f.Close()
	last := 0
	for i := 1; ; i++ {
		select {
		case <-w.stop:
			return
		case reply := <-w.pauseReq:
			reply <- last
			select {
			case <-w.resume:
			case <-w.stop:
				return
			}
		default:
		}
		last = i % len(w.contents)
		if err := rewrite(f, w.contents[last]); err != nil {
			t.Error(err)
			return
		}
		w.rounds++
	}
}

func rewrite(f *os.File, c []byte) error {
	if err := f.Truncate(0); err != nil {
		return err
	}
	for off := 0; off < len(c); off += 64 << 10 {
		if _, err := f.WriteAt(c[off:min(off+64<<10, len(c))], int64(off)); err != nil {
			return err
		}
	}
	return nil
}

// TestRewrittenFileNeverTorn rewrites a 256 KiB file in place on the master
// while the client syncs, and reads the slave's copy in a loop while syncs
// replace it: every copy ever seen must be one whole version. Each cycle
// syncs once while the writer runs (no torn copy may arrive) and once
// while it is paused (the version on disk must arrive).
func TestRewrittenFileNeverTorn(t *testing.T) {
	ctx := ctxT(t, 20*time.Second)
	master, slave := t.TempDir(), t.TempDir()
	contents, sums := versions(6, 256<<10)
	must(t, os.WriteFile(filepath.Join(master, "big.json"), contents[0], 0o644))
	c := newClient(t, slave, startServer(t, ServerOptions{Dir: master}), nil)

	w := &rewriter{path: filepath.Join(master, "big.json"), contents: contents,
		pauseReq: make(chan chan int), resume: make(chan struct{}), stop: make(chan struct{})}
	stopR := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { w.run(t) })
	var reads atomic.Int64
	wg.Go(func() { readLoop(t, filepath.Join(slave, "big.json"), sums, stopR, &reads) })
	defer func() { close(w.stop); close(stopR); wg.Wait() }()

	unstable := 0
	for range 2 {
		res := sync1(t, ctx, c)
		if res.Failed["big.json"] != "" {
			unstable++
		}
		reply := make(chan int)
		w.pauseReq <- reply
		last := <-reply
		res = sync1(t, ctx, c)
		if len(res.Failed) != 0 || readFile(t, slave, "big.json") != string(contents[last]) {
			t.Fatalf("writer paused at version %d: slave differs, failed %v", last, res.Failed)
		}
		w.resume <- struct{}{}
	}
	t.Logf("syncs while writing reported unstable: %d of 2; slave reads %d", unstable, reads.Load())
}

// TestSlaveReaderNeverSeesPartial replaces a 256 KiB file on the slave again
// and again while a reader reads it in a loop.
func TestSlaveReaderNeverSeesPartial(t *testing.T) {
	ctx := ctxT(t, 20*time.Second)
	master, slave := t.TempDir(), t.TempDir()
	contents, sums := versions(6, 256<<10)
	c := newClient(t, slave, startServer(t, ServerOptions{Dir: master}), nil)
	stop := make(chan struct{})
	var reads atomic.Int64
	var wg sync.WaitGroup
	wg.Go(func() { readLoop(t, filepath.Join(slave, "big.json"), sums, stop, &reads) })
	defer func() { close(stop); wg.Wait() }()
	for i := range contents {
		must(t, os.WriteFile(filepath.Join(master, "big.json"), contents[i], 0o644))
		if res := sync1(t, ctx, c); len(res.Updated) != 1 {
			t.Fatalf("version %d: %+v", i, res)
		}
	}
	sidecartest.Eventually(t, 5*time.Second, "the condition", func() bool { return reads.Load() > 0 })
	t.Logf("slave reads %d", reads.Load())
}

// readLoop reads the slave's copy until stop is closed; a missing file is
// fine (before the first sync), anything else must be a whole version.
func readLoop(t *testing.T, path string, sums map[[32]byte]int, stop <-chan struct{}, reads *atomic.Int64) {
	for {
		select {
		case <-stop:
			return
		default:
		}
		b, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			t.Errorf("slave read: %v", err)
			return
		}
		if _, ok := sums[sha256.Sum256(b)]; !ok {
			t.Errorf("slave saw a torn copy of %d bytes", len(b))
			return
		}
		reads.Add(1)
	}
}
