package fsiotest

import (
	"math/rand/v2"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/hasidecar/hasidecar/plugins/fsio"
)

// Op is a set of file-system operations.
type Op uint32

// The operations a Fault can select.
const (
	OpOpen     Op = 1 << iota // FS.OpenFile
	OpStat                    // FS.Stat and File.Stat
	OpReadDir                 // FS.ReadDir
	OpMkdir                   // FS.MkdirAll
	OpRename                  // FS.Rename (either path matches)
	OpRemove                  // FS.Remove
	OpSyncDir                 // FS.SyncDir
	OpRead                    // File.ReadAt
	OpWrite                   // File.WriteAt and File.WriteV
	OpSync                    // File.Datasync
	OpTruncate                // File.Truncate
	OpSeek                    // File.Seek
	OpClose                   // File.Close (the file is closed anyway)

	OpAll = 1<<iota - 1
)

var opNames = []string{"open", "stat", "readdir", "mkdir", "rename", "remove", "syncdir",
	"read", "write", "sync", "truncate", "seek", "close"}

// String names the operations, "write|sync".
func (o Op) String() string {
	var parts []string
	for i, n := range opNames {
		if o&(1<<i) != 0 {
			parts = append(parts, n)
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, "|")
}

// Fault says which calls fail and how.
type Fault struct {
	// Ops selects the operations; 0 selects none.
	Ops Op
	// Path is a filepath.Match pattern matched against the whole path and
	// against its base name; "" matches every path. A File's path is the
	// name it was opened with, also after a rename.
	Path string
	// Nth is the first matching call hit, counted from 1; 0 means 1.
	Nth int
	// Times is how many calls are hit at most; 0 means no limit.
	Times int
	// Prob, when in (0, 1), hits each call from the Nth on with this
	// probability, drawn from the seeded source of the FS.
	Prob float64
	// Err is what a hit call returns, wrapped in *fs.PathError (for
	// instance syscall.EIO or syscall.ENOSPC). With Short, a nil Err makes
	// WriteV return a short count alone and WriteAt io.ErrShortWrite.
	Err error
	// Short makes a hit write write the first half of its bytes, then
	// return the short count with Err.
	Short bool
	// Delay makes a hit call sleep this long first; with neither Err nor
	// Short it then goes through: a slow disk.
	Delay time.Duration
}

// Injection is one injected Fault.
type Injection struct {
	fs         *FS
	fault      Fault
	seen, hits int // guarded by fs.mu
}

// Remove stops the fault; calls under way are not affected.
func (i *Injection) Remove() {
	i.fs.mu.Lock()
	defer i.fs.mu.Unlock()
	for k, j := range i.fs.faults {
		if j == i {
			i.fs.faults = append(i.fs.faults[:k], i.fs.faults[k+1:]...)
			return
		}
	}
}

// Seen is how many calls matched the fault's operations and path.
func (i *Injection) Seen() int {
	i.fs.mu.Lock()
	defer i.fs.mu.Unlock()
	return i.seen
}

// Hits is how many calls the fault acted on.
func (i *Injection) Hits() int {
	i.fs.mu.Lock()
	defer i.fs.mu.Unlock()
	return i.hits
}

// FS is an fsio.FS that injects faults into the calls it passes on.
type FS struct {
	inner fsio.FS

	mu     sync.Mutex
	rng    *rand.Rand
	faults []*Injection
}

var _ fsio.FS = (*FS)(nil)

// New wraps inner (nil means fsio.OS()). seed drives Fault.Prob.
func New(inner fsio.FS, seed uint64) *FS {
	return &FS{inner: fsio.Or(inner), rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

// Inject adds a fault; it acts on calls that start after Inject returns.
func (e *FS) Inject(f Fault) *Injection {
	e.mu.Lock()
	defer e.mu.Unlock()
	i := &Injection{fs: e, fault: f}
	e.faults = append(e.faults, i)
	return i
}

// Clear removes every fault.
func (e *FS) Clear() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.faults = nil
}

// decide counts the call against every matching fault and returns the
// first one that hits it, or nil.
func (e *FS) decide(op Op, paths ...string) *Fault {
	e.mu.Lock()
	defer e.mu.Unlock()
	var hit *Fault
	for _, i := range e.faults {
		if i.fault.Ops&op == 0 || !matchAny(i.fault.Path, paths) {
			continue
		}
		i.seen++
		if hit != nil || i.seen < i.fault.Nth || (i.fault.Times > 0 && i.hits >= i.fault.Times) {
			continue
		}
		if p := i.fault.Prob; p > 0 && p < 1 && e.rng.Float64() >= p {
			continue
		}
		i.hits++
		f := i.fault
		hit = &f
	}
	return hit
}

func matchAny(pattern string, paths []string) bool {
	if pattern == "" {
		return true
	}
	for _, p := range paths {
		if ok, _ := filepath.Match(pattern, p); ok {
			return true
		}
		if ok, _ := filepath.Match(pattern, filepath.Base(p)); ok {
			return true
		}
	}
	return false
}
