package tailer

import (
	"errors"
	"fmt"
	"io/fs"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/hasidecar/hasidecar/plugins"
	"github.com/hasidecar/hasidecar/plugins/fsio"
)

// Options are the tailer's timings. Zero values take the defaults.
type Options struct {
	// PollMin and PollMax bound the adaptive poll of the live tail: it
	// starts at PollMin after activity and doubles up to PollMax when idle
	// (defaults 5ms and 500ms). PollMin is how late a steady writer's bytes
	// are seen without a hint, and the most often fsnotify Write events
	// wake the loop; each step costs the master a round of wake-ups (the
	// tailer, the senders, the slaves' reports), so it trades that lag for
	// CPU (at a 20 MB/s mmap writer, 1ms cost about twice the CPU of 5ms). Each wake-up of an idle process costs
	// ~200 us of CPU on a VM, so PollMax is what an idle master costs;
	// it is also how late the first record after a quiet period is seen
	// from a writer that neither hints nor raises fsnotify Write events
	// (an mmap writer such as RocketMQ's broker without --ack-socket).
	PollMin, PollMax time.Duration
	// Settle is how long the last record's bytes must stay identical before
	// it is published without a writer hint (default 20ms).
	Settle time.Duration
	// Rescan is the interval of the safety net under fsnotify (default
	// 1s): the live segment's path is stat'ed and the directory listed (with
	// fsnotify working, every 30th interval only).
	Rescan time.Duration
	// FS is the file system segments are listed, opened and stat'ed
	// through (mmap stays on the real file); nil means fsio.OS().
	FS fsio.FS
}

func (o Options) withDefaults() Options {
	if o.PollMin <= 0 {
		o.PollMin = 5 * time.Millisecond
	}
	if o.PollMax <= 0 {
		o.PollMax = 500 * time.Millisecond
	}
	if o.PollMax < o.PollMin {
		o.PollMax = o.PollMin
	}
	if o.Settle <= 0 {
		o.Settle = 20 * time.Millisecond
	}
	if o.Rescan <= 0 {
		o.Rescan = time.Second
	}
	o.FS = fsio.Or(o.FS)
	return o
}

// State is the published view of the directory.
type State struct {
	// Oldest is the start of the oldest segment of the contiguous run that
	// ends at the newest segment.
	Oldest int64
	// End is the safe end: every byte below it is final. It never shrinks
	// while the directory keeps its segments.
	End int64
	// LiveStart is the start of the newest segment.
	LiveStart int64
	// Segments is the number of segments in the contiguous run.
	Segments int
	// DirExists is false until the directory exists (and while it is gone).
	DirExists bool
	// Diverged is the last divergence found: published bytes that changed
	// on disk. While Diverged.Active, End was moved back to Diverged.At.
	Diverged Divergence
	// Stalled is set while the tail cannot advance though bytes follow End
	// that the layout does not accept (a fork's record, a corrupt record).
	Stalled Stall
}

// Stall says why the tail cannot advance.
type Stall struct {
	Active  bool
	Offset  int64  // the published end, where valid data stops
	Segment string // the segment file's name
	Reason  string // the layout's reason, or a generic one
	Since   time.Time
}

// Tailer publishes the safe end of a live segment directory and hands out
// read-only slices of its segments. Read, State, Changed, Hint and
// IsBoundary are safe for concurrent use; Run is the single goroutine that
// changes anything.
type Tailer struct {
	log    *zap.Logger
	dir    string
	layout plugins.Layout
	info   plugins.Info
	opts   Options

	wake    chan struct{} // fed by Hint with non-blocking sends
	hint    atomic.Int64  // highest offset a writer declared final
	started atomic.Bool
	wakes   atomic.Int64 // loop steps, for the poll-cost benchmark

	mu      sync.RWMutex
	segs    map[int64]*segment // by start; guarded by mu (the loop reads without it)
	state   State
	changed chan struct{}
	closed  bool
	divHook func(Divergence) // called with mu held; see OnDiverge

	lz   lazyCache // mappings of sealed segments that Reads asked for
	loop loopState // owned by the Run goroutine only
}

// New returns a Tailer for dir. Nothing happens until Run.
func New(log *zap.Logger, dir string, layout plugins.Layout, opts Options) *Tailer {
	if log == nil {
		log = zap.NewNop()
	}
	t := &Tailer{
		log:     log,
		dir:     dir,
		layout:  layout,
		opts:    opts.withDefaults(),
		wake:    make(chan struct{}, 1),
		segs:    make(map[int64]*segment),
		changed: make(chan struct{}),
		lz:      newLazyCache(),
	}
	if layout != nil {
		t.info = layout.Info()
	}
	t.hint.Store(-1)
	return t
}

// State returns the current published state.
func (t *Tailer) State() State {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.state
}

// Changed returns a channel closed at the next change of State (and, rarely,
// when a segment below End was remapped and Read can return more than an
// empty chunk there). Take it before reading State or calling Read so that a
// change in between is not missed. After Run returns it is closed.
func (t *Tailer) Changed() <-chan struct{} {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.changed
}

// Hint tells the tailer that data up to off exists and is final (a writer
// that just committed it). The tail up to min(off, valid end) is published
// at the next scan, without waiting for Settle, and that scan starts now.
func (t *Tailer) Hint(off int64) {
	for {
		cur := t.hint.Load()
		if off <= cur {
			return // nothing new: the tailer already knows, do not wake it
		}
		if t.hint.CompareAndSwap(cur, off) {
			break
		}
	}
	select {
	case t.wake <- struct{}{}:
	default:
	}
}

// forgetHints drops writer hints above off: the data they vouched for was
// replaced or wiped, and the new bytes there must settle on their own.
func (t *Tailer) forgetHints(off int64) {
	for {
		cur := t.hint.Load()
		if cur <= off || t.hint.CompareAndSwap(cur, off) {
			return
		}
	}
}

// Read returns the bytes [off, min(off+max, End, end of off's segment)). The
// chunk never crosses a segment. off == End gives an empty chunk and a nil
// error (wait on Changed); off > End gives ErrBeyondEnd; off below Oldest or
// in a deleted segment gives ErrGone. The caller must Release the chunk.
func (t *Tailer) Read(off int64, max int) (Chunk, error) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	st := t.state
	if err := t.checkOffset("read", off, st); err != nil {
		return Chunk{}, err
	}
	if off == st.End || max <= 0 {
		return Chunk{Offset: off}, nil
	}
	start := plugins.SegmentStart(t.info, off)
	s := t.segs[start]
	if s == nil {
		return Chunk{}, &OffsetError{Op: "read", Offset: off, Oldest: st.Oldest, End: st.End, Err: ErrGone}
	}
	m, err := t.segmentMapping(s, min(st.End, start+t.info.SegmentSize)-start)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			err = ErrGone // deleted by retention; the listing has not seen it yet
		}
		return Chunk{}, &OffsetError{Op: "read", Offset: off, Oldest: st.Oldest, End: st.End, Err: err}
	}
	if m == nil {
		return Chunk{Offset: off}, nil // another file than published from: the loop checks it
	}
	hi := min(st.End, start+t.info.SegmentSize, start+m.size())
	if int64(max) < hi-off { // compared as a length: off+max may overflow
		hi = off + int64(max)
	}
	if hi <= off {
		// The mapping is shorter than End: the file shrank under us (logged
		// by the loop) or is still being copied in. Serve nothing rather
		// than touch pages past EOF.
		if s.m == nil {
			t.lz.noteShort(start, m.size())
		}
		m.release()
		return Chunk{Offset: off}, nil
	}
	lo, h := off-start, hi-start
	m.prefetch(h)
	return Chunk{Offset: off, Data: m.data[lo:h:h], m: m}, nil
}

// segmentMapping returns a referenced mapping of s covering need bytes
// when the file has them: the pinned segment's own, or a sealed segment's
// from the lazy cache. Called with mu read-locked.
func (t *Tailer) segmentMapping(s *segment, need int64) (*mapping, error) {
	if s.m != nil {
		s.m.acquire()
		return s.m, nil
	}
	return t.lazyAcquire(s, need)
}

// checkOffset applies the bounds common to Read and IsBoundary. Called with
// mu held.
func (t *Tailer) checkOffset(op string, off int64, st State) error {
	var err error
	switch {
	case t.closed:
		err = errClosed
	case off < st.Oldest || off < 0:
		err = ErrGone
	case off > st.End:
		err = ErrBeyondEnd
	default:
		return nil
	}
	return &OffsetError{Op: op, Offset: off, Oldest: st.Oldest, End: st.End, Err: err}
}

// IsBoundary reports whether off, inside [Oldest, End], is the first byte
// of a record. End and segment starts always are; anything else is asked of
// the layout.
func (t *Tailer) IsBoundary(off int64) (bool, error) {
	t.mu.RLock()
	st := t.state
	if err := t.checkOffset("check boundary at", off, st); err != nil {
		t.mu.RUnlock()
		return false, err
	}
	if off == st.End {
		t.mu.RUnlock()
		return true, nil
	}
	start := plugins.SegmentStart(t.info, off)
	s := t.segs[start]
	t.mu.RUnlock()
	if off == start {
		return true, nil
	}
	if s == nil {
		return false, &OffsetError{Op: "check boundary at", Offset: off, Oldest: st.Oldest, End: st.End, Err: ErrGone}
	}
	ok, err := t.layout.IsBoundary(s.path, s.start, off)
	if err != nil {
		return false, fmt.Errorf("check boundary at %d in %s: %w", off, s.path, err)
	}
	return ok, nil
}

// publish replaces the state and wakes the waiters if anything changed.
func (t *Tailer) publish(st State) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.publishLocked(st)
}

// publishLocked is publish with mu held.
func (t *Tailer) publishLocked(st State) {
	if st == t.state || t.closed {
		return
	}
	t.state = st
	close(t.changed)
	t.changed = make(chan struct{})
}
