package tailer

import (
	"hash/crc32"

	"github.com/hasidecar/hasidecar/plugins"
)

// peekLen is how many bytes after the last scanned end must still be zero
// for a poll to reuse the last Scan.
const peekLen = 64

// lastScan is the last Layout.Scan of the pinned segment and what it saw.
type lastScan struct {
	ok   bool
	from int64        // the Stable it started from
	sc   plugins.Scan // its result
	sum  uint32       // CRC-32C of the last record [sc.Stable, sc.End)
	size int64        // the file's size then (for files that grow by append)
}

// scanOrReuse returns the layout's Scan of the pinned segment from the
// cursor. An idle poll reuses the last result instead when the mapping
// shows the writer changed nothing it could have looked at: the last
// record's bytes are identical, the peekLen bytes after it are still zero
// (preallocated) or the file kept its size (append), and the rescan tick
// has not asked for a real Scan. Scan is a function of those bytes, so it
// would return the same; the tick's real Scan bounds the delay for a
// layout whose records may start with peekLen zero bytes. The layout's
// Scan opens and reads the file (four system calls for the built-in
// ones); a reused poll makes none.
func (t *Tailer) scanOrReuse(s *segment) (plugins.Scan, error) {
	cur := &t.loop.cur
	if t.canReuse(s) {
		return cur.last.sc, nil
	}
	cur.last.ok = false
	from := cur.stable
	sc, err := t.scanLayout(s, from)
	if err != nil {
		return sc, err
	}
	if sum, ok := t.lastRecordSum(s, sc); ok && !sc.Full {
		cur.last = lastScan{ok: true, from: from, sc: sc, sum: sum, size: s.size}
	}
	return sc, nil
}

func (t *Tailer) canReuse(s *segment) bool {
	l := &t.loop.cur.last
	if !l.ok || l.from != t.loop.cur.stable || t.loop.scanDue || (!t.info.Preallocated && s.size != l.size) {
		return false
	}
	e := l.sc.End - s.start
	hi := min(e+peekLen, t.info.SegmentSize)
	if !t.info.Preallocated {
		hi = min(hi, s.size)
	}
	if hi > s.m.size() {
		return false
	}
	same := false
	if _, faulted := plugins.CatchFault(func() { same = allZero(s.m.data[e:hi]) }); faulted || !same {
		return false
	}
	sum, ok := t.lastRecordSum(s, l.sc)
	return ok && sum == l.sum
}

// lastRecordSum hashes the last record [Stable, End) of sc through the
// pinned mapping; ok is false when the mapping does not hold it or the file
// was truncated under it (the fault is caught; the next refresh sees it).
func (t *Tailer) lastRecordSum(s *segment, sc plugins.Scan) (sum uint32, ok bool) {
	lo, hi := sc.Stable-s.start, sc.End-s.start
	if lo < 0 || hi > s.m.size() || lo > hi {
		return 0, false
	}
	if _, faulted := plugins.CatchFault(func() { sum = crc32.Checksum(s.m.data[lo:hi], castagnoli) }); faulted {
		t.loop.lastFstat = t.loop.lastFstat.AddDate(-1, 0, 0) // fstat at the next refresh
		return 0, false
	}
	return sum, true
}

// scanLayout runs the layout's Scan from from. A preallocated live segment
// is scanned through the pinned mapping when the layout can
// (plugins.MappedScanner): no open, fstat, read or close per poll. The
// file at the path is scanned instead at each Rescan (scanDue: a file
// renamed over the live one is then read, and its path stat'ed), when
// the mapping faults (truncated: the next refresh fstats it) and for
// append layouts, whose mapping may lag the file's growth.
func (t *Tailer) scanLayout(s *segment, from int64) (plugins.Scan, error) {
	ms, ok := t.layout.(plugins.MappedScanner)
	if ok && t.info.Preallocated && !t.loop.scanDue && s.m != nil && from-s.start <= s.m.size() {
		var sc plugins.Scan
		var err error
		if _, faulted := plugins.CatchFault(func() { sc, err = ms.ScanMapped(s.m.data, s.start, from) }); !faulted {
			return sc, err
		}
		t.loop.lastFstat = t.loop.lastFstat.AddDate(-1, 0, 0) // fstat at the next refresh
	}
	t.loop.scanDue = false
	return t.layout.Scan(s.path, s.start, from)
}
