package rocketmq

import (
	"fmt"

	"github.com/hasidecar/hasidecar/plugins"
)

// recKind classifies the bytes at a walk position.
type recKind uint8

const (
	recEnd     recKind = iota // not a valid record: the data ends here
	recMessage                // a valid message record
	recBlank                  // the blank record that seals the segment
)

// walkResult is where a walk stopped.
type walkResult struct {
	end  int64 // just past the last valid record (or from)
	last int64 // start of the last valid record (or from)
	full bool  // a blank record, or data up to the segment's last byte
}

// Scan implements plugins.Layout. It reads the file with pread from from,
// in windows that grow while records continue past them (readWalk), and
// walks the records. The first byte that does not start a valid record ends
// the walk; that is the end of the data, not an error, so Scan never returns
// plugins.ErrCorrupt. A file truncated underneath reads short: its data ends
// there.
func (l *Layout) Scan(path string, start, from int64) (plugins.Scan, error) {
	segEnd := start + l.segSize
	if from < start || from > segEnd {
		return plugins.Scan{}, fmt.Errorf("scan %s from %d: segment is [%d, %d]: %w", path, from, start, segEnd, ErrRange)
	}
	r, err := l.readWalk(path, start, from, segEnd)
	if err != nil {
		return plugins.Scan{}, err
	}
	if r.full {
		return plugins.Scan{End: segEnd, Stable: segEnd, Full: true}, nil
	}
	return plugins.Scan{End: r.end, Stable: r.last}, nil
}

// IsBoundary implements plugins.Layout by walking the records from start
// until the walk reaches or passes off.
func (l *Layout) IsBoundary(path string, start, off int64) (bool, error) {
	segEnd := start + l.segSize
	if off < start || off > segEnd {
		return false, fmt.Errorf("is boundary %s at %d: segment is [%d, %d]: %w", path, off, start, segEnd, ErrRange)
	}
	r, err := l.readWalk(path, start, start, off)
	if err != nil {
		return false, fmt.Errorf("is boundary %s: %w", path, err)
	}
	return r.end == off, nil
}

// walk validates records from absolute offset from until the data ends or the
// position reaches stop. data[0] is at absolute offset base.
func (l *Layout) walk(data []byte, base, segEnd, from, stop int64) walkResult {
	r := walkResult{end: from, last: from}
	for r.end < stop {
		size, kind := l.check(data[r.end-base:], r.end, segEnd-r.end)
		switch kind {
		case recBlank:
			r.last, r.end, r.full = r.end, segEnd, true
			return r
		case recMessage:
			r.last, r.end = r.end, r.end+size
		default:
			return r
		}
	}
	r.full = r.end == segEnd
	return r
}

// check classifies the record at b[0] (b runs to the end of the mapped data),
// whose absolute offset is abs, with left bytes before the segment's end. It
// reads each field once, so a writer racing it cannot make one check see a
// value another check did not.
func (l *Layout) check(b []byte, abs, left int64) (int64, recKind) {
	if len(b) < BlankSize {
		return 0, recEnd
	}
	size := int64(int32(be.Uint32(b)))
	magic := be.Uint32(b[4:])
	if magic == l.blank {
		if size == left {
			return size, recBlank
		}
		return 0, recEnd
	}
	ver := l.version(magic)
	if ver == 0 || size < MinRecordSize || size > left || size > int64(len(b)) {
		return 0, recEnd
	}
	if !l.checkMessage(b[:size], ver, abs) {
		return 0, recEnd
	}
	return size, recMessage
}

// checkMessage validates a message record whose TOTALSIZE is len(rec): its
// physical offset, the length computed from its fields, and the body CRC.
func (l *Layout) checkMessage(rec []byte, ver int, abs int64) bool {
	if int64(be.Uint64(rec[offPhys:])) != abs {
		return false
	}
	sysFlag := int32(be.Uint32(rec[offSysFlag:]))
	// BORNTIMESTAMP, BORNHOST, STORETIMESTAMP, STOREHOST, RECONSUMETIMES,
	// PREPAREDTRANSACTIONOFFSET.
	p := offBornTS + 8 + hostLen(sysFlag, SysFlagBornHostV6) + 8 + hostLen(sysFlag, SysFlagStoreHostV6) + 4 + 8
	if p+4 > len(rec) {
		return false
	}
	bodyLen := int(int32(be.Uint32(rec[p:])))
	p += 4
	if bodyLen < 0 || bodyLen > len(rec)-p {
		return false
	}
	body := rec[p : p+bodyLen]
	p += bodyLen
	p, ok := skipTopic(rec, p, ver)
	if !ok || p+2 > len(rec) {
		return false
	}
	propsLen := int(int16(be.Uint16(rec[p:])))
	if propsLen < 0 || p+2+propsLen != len(rec) {
		return false
	}
	return l.skipCRC || bodyCRC(body) == be.Uint32(rec[8:])
}

// skipTopic returns the position after TOPICLENGTH + TOPIC. Lengths are
// signed in Java (a byte for v1, a short for v2): negative ones are invalid.
func skipTopic(rec []byte, p, ver int) (int, bool) {
	var n int
	if ver == 2 {
		if p+2 > len(rec) {
			return 0, false
		}
		n, p = int(int16(be.Uint16(rec[p:]))), p+2
	} else {
		if p+1 > len(rec) {
			return 0, false
		}
		n, p = int(int8(rec[p])), p+1
	}
	if n < 0 || n > len(rec)-p {
		return 0, false
	}
	return p + n, true
}
