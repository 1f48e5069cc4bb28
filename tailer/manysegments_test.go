package tailer

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/hasidecar/hasidecar/plugins/fsio"
	"github.com/hasidecar/hasidecar/sidecar/sidecartest"
)

// TestHundredThousandSegments: a directory of manySegments 4 KiB segments
// (more than vm.max_map_count's default 65,530, so mapping each one could
// not work) below a live segment and an all-zero preallocated one ahead of
// it, as a broker keeps. The tailer starts, publishes every sealed segment
// without opening, mapping or scanning it (one stat each), serves reads
// from the oldest and the live segment, then keeps only the live segment
// mapped and open, and polls without touching a sealed segment again.
//
// The sealed segments other than the first are sparse and all zero (a
// 4 KiB block each would be 400 MiB of disk), hard links of one file: a
// Scan would not find them sealed, so the test also shows that none is
// scanned.
func TestHundredThousandSegments(t *testing.T) {
	const manySegments = 100_000 // under -race too: 11-35 s on a shared 2-core machine
	dir := t.TempDir()
	l := &countingLayout{testLayout: testLayout{size: 4096, prealloc: true}}
	size := l.size
	first := sealedBytes(&l.testLayout, 0)
	writeFile(t, filepath.Join(dir, l.SegmentName(0)), first)
	t0 := time.Now()
	sparseSegments(t, dir, &l.testLayout, 1, manySegments)
	liveStart := int64(manySegments) * size
	live := make([]byte, size)
	end := liveStart + int64(copy(live, record(payloadAt(7, 300))))
	writeFile(t, filepath.Join(dir, l.SegmentName(liveStart)), live)
	sparseSegment(t, filepath.Join(dir, l.SegmentName(liveStart+size)), size) // preallocated ahead
	t.Logf("%d segments written in %v", manySegments+2, time.Since(t0))

	cfs := &countingFS{FS: fsio.OS()}
	log := zaptest.NewLogger(t, zaptest.Level(zap.InfoLevel))
	t0 = time.Now()
	tl := runTailer(t, New(log, dir, l, Options{FS: cfs, PollMin: time.Millisecond, PollMax: 5 * time.Millisecond, Settle: 10 * time.Millisecond, Rescan: 50 * time.Millisecond}))
	tl.Hint(end)
	st := waitState(t, tl, 90*time.Second, "end at the live segment's record", func(s State) bool { return s.End == end })
	t.Logf("caught up over %d segments in %v: %d Scans, %d opens, %d stats", st.Segments, time.Since(t0), l.scans.Load(), cfs.opens.Load(), cfs.stats.Load())
	if st.Oldest != 0 || st.LiveStart != liveStart+size || st.Segments != manySegments+2 {
		t.Fatalf("state %+v: want oldest 0, newest at %d, %d segments", st, liveStart+size, manySegments+2)
	}
	// A few Scans and opens of the live and the ahead segment (pin, probes
	// at listings), none per sealed one.
	if n := l.scans.Load(); n > 10 {
		t.Errorf("%d Scans: sealed segments were scanned", n)
	}
	if n := cfs.opens.Load(); n > 10 {
		t.Errorf("%d opens: sealed segments were opened", n)
	}
	if n := cfs.stats.Load(); n > manySegments+10 {
		t.Errorf("%d stats: sealed segments were statted more than once", n)
	}

	if got := drain(t, tl, 0, size, 1024); !bytes.Equal(got, first) {
		t.Fatal("the oldest segment reads differently from its file")
	}
	if got := drain(t, tl, liveStart, end, 1024); !bytes.Equal(got, live[:end-liveStart]) {
		t.Fatal("the live segment reads differently from its file")
	}
	if n := mappedUnder(t, dir); n > 2 {
		t.Fatalf("%d mappings of segment files after reading two segments", n)
	}
	// The oldest segment's mapping lingers for lingerFor after its last
	// Read, then only the live segment stays mapped and open.
	sidecartest.Eventually(t, lingerFor+10*time.Second, "only the live segment mapped", func() bool {
		return mappedUnder(t, dir) == 1 && cachedMaps(tl) == 0
	})
	if n := openUnder(t, dir); n != 1 {
		t.Fatalf("%d descriptors open on segment files, want the live one only", n)
	}

	// Polling on (Rescan ticks included) stats no sealed segment again.
	stats, wakes := cfs.stats.Load(), tl.wakes.Load()
	sidecartest.Eventually(t, 30*time.Second, "polls and rescans", func() bool { return tl.wakes.Load() > wakes+200 })
	polled := tl.wakes.Load() - wakes
	if n := cfs.stats.Load() - stats; n > polled/10+10 {
		t.Fatalf("%d path stats over %d polls: sealed segments are re-statted", n, polled)
	}
}

// sealedBytes is a whole sealed segment of l: records of payloads from
// seed on, then a blank record to its end.
func sealedBytes(l *testLayout, seed int) []byte {
	seg := make([]byte, l.size)
	pos := 0
	for i := 0; ; i++ {
		r := record(payloadAt(seed+i, 100))
		if int64(pos+len(r)+hdrSize) > l.size {
			break
		}
		pos += copy(seg[pos:], r)
	}
	binary.BigEndian.PutUint32(seg[pos:], uint32(l.size-int64(pos)))
	binary.BigEndian.PutUint32(seg[pos+4:], blankMagic)
	return seg
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// sparseSegments creates the sparse segments [from, to) (in segment
// numbers) as hard links of a few sparse files: creating 100,000 inodes takes
// from 10 s to over a minute on a loaded machine, a link a few
// microseconds. The tailer records a sealed file's identity but never
// compares two segments' files.
func sparseSegments(t *testing.T, dir string, l *testLayout, from, to int64) {
	t.Helper()
	const perInode = 60000 // ext4 allows 65,000 links to one inode
	protos := t.TempDir()
	var proto string
	for i := from; i < to; i++ {
		if (i-from)%perInode == 0 {
			proto = filepath.Join(protos, fmt.Sprint(i))
			sparseSegment(t, proto, l.size)
		}
		if err := os.Link(proto, filepath.Join(dir, l.SegmentName(i*l.size))); err != nil {
			t.Fatal(err)
		}
	}
}

func createSparse(path string, size int64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	err = f.Truncate(size)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// sparseSegment creates a preallocated segment file without data blocks.
func sparseSegment(t *testing.T, path string, size int64) {
	t.Helper()
	if err := createSparse(path, size); err != nil {
		t.Fatal(err)
	}
}

// mappedUnder counts this process's mappings of files in dir
// (/proc/self/maps).
func mappedUnder(t *testing.T, dir string) int {
	t.Helper()
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if filepath.Dir(lastField(sc.Text())) == dir {
			n++
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return n
}

func lastField(line string) string {
	fs := strings.Fields(line)
	if len(fs) == 0 {
		return ""
	}
	return fs[len(fs)-1]
}

// openUnder counts this process's descriptors open on files in dir
// (/proc/self/fd).
func openUnder(t *testing.T, dir string) int {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range fds {
		target, err := os.Readlink(filepath.Join("/proc/self/fd", e.Name()))
		if err == nil && filepath.Dir(target) == dir {
			n++
		}
	}
	return n
}

// cachedMaps is how many sealed segments' mappings the lazy cache holds.
func cachedMaps(tl *Tailer) int {
	tl.lz.mu.Lock()
	defer tl.lz.mu.Unlock()
	return len(tl.lz.maps)
}
