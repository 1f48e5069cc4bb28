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
	end  int64  // just past the last valid record (or from)
	last int64  // start of the last valid record (or from)
	full bool   // a blank record, or data up to the segment's last byte
	why  string // why the bytes at end are not a record ("" when they are zero or short)
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
		return plugins.Scan{}, fmt.Errorf("scan %s from %d: segment is [%d, %d]: %w", path, from, start, segEnd, plugins.ErrRange)
	}
	r, err := l.readWalk(path, start, from, segEnd)
	if err != nil {
		return plugins.Scan{}, err
	}
	if r.full {
		return plugins.Scan{End: segEnd, Stable: segEnd, Full: true}, nil
	}
	return plugins.Scan{End: r.end, Stable: r.last, Reason: r.why}, nil
}

// ScanMapped implements plugins.MappedScanner: the walk of Scan over the
// caller's mapping of the segment, without a system call.
func (l *Layout) ScanMapped(data []byte, start, from int64) (plugins.Scan, error) {
	segEnd := start + l.segSize
	if from < start || from > segEnd {
		return plugins.Scan{}, fmt.Errorf("scan mapped segment at %d from %d: segment is [%d, %d]: %w", start, from, start, segEnd, plugins.ErrRange)
	}
	data = data[:min(int64(len(data)), l.segSize)]
	r := walkResult{end: from, last: from, full: from == segEnd}
	if from < start+int64(len(data)) {
		r = l.walk(data, start, segEnd, from, segEnd)
	}
	if r.full {
		return plugins.Scan{End: segEnd, Stable: segEnd, Full: true}, nil
	}
	return plugins.Scan{End: r.end, Stable: r.last, Reason: r.why}, nil
}

// IsBoundary implements plugins.Layout by walking the records from start
// until the walk reaches or passes off.
func (l *Layout) IsBoundary(path string, start, off int64) (bool, error) {
	segEnd := start + l.segSize
	if off < start || off > segEnd {
		return false, fmt.Errorf("is boundary %s at %d: segment is [%d, %d]: %w", path, off, start, segEnd, plugins.ErrRange)
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
		size, kind, why := l.check(data[r.end-base:], r.end, segEnd-r.end)
		switch kind {
		case recBlank:
			r.last, r.end, r.full = r.end, segEnd, true
			return r
		case recMessage:
			r.last, r.end = r.end, r.end+size
		default:
			r.why = why
			return r
		}
	}
	r.full = r.end == segEnd
	return r
}

// check classifies the record at b[0] (b runs to the end of the mapped data),
// whose absolute offset is abs, with left bytes before the segment's end. It
// reads each field once, so a writer racing it cannot make one check see a
// value another check did not. For bytes that are not a record it says why
// (a constant: the walk runs per record), or "" when they are zero or short.
func (l *Layout) check(b []byte, abs, left int64) (int64, recKind, string) {
	if len(b) < BlankSize {
		return 0, recEnd, ""
	}
	size := int64(int32(be.Uint32(b)))
	magic := be.Uint32(b[4:])
	if magic == l.blank {
		if size == left {
			return size, recBlank, ""
		}
		return 0, recEnd, "blank record whose size is not the rest of the segment"
	}
	ver := l.version(magic)
	switch {
	case size == 0 && magic == 0:
		return 0, recEnd, ""
	case ver == 0:
		return 0, recEnd, "unknown magic code (another fork's? see --rocketmq-magic)"
	case size < MinRecordSize || size > left:
		return 0, recEnd, "TOTALSIZE out of range"
	case size > int64(len(b)):
		return 0, recEnd, "" // a record still being written past the file's end
	}
	if why := l.checkMessage(b[:size], ver, abs); why != "" {
		return 0, recEnd, why
	}
	return size, recMessage, ""
}

// checkMessage validates a message record whose TOTALSIZE is len(rec): its
// physical offset, the length computed from its fields, and the body CRC.
// It returns why the record is invalid, or "".
func (l *Layout) checkMessage(rec []byte, ver int, abs int64) string {
	if int64(be.Uint64(rec[offPhys:])) != abs {
		return "PHYSICALOFFSET is not the record's own offset"
	}
	sysFlag := int32(be.Uint32(rec[offSysFlag:]))
	// BORNTIMESTAMP, BORNHOST, STORETIMESTAMP, STOREHOST, RECONSUMETIMES,
	// PREPAREDTRANSACTIONOFFSET.
	p := offBornTS + 8 + hostLen(sysFlag, SysFlagBornHostV6) + 8 + hostLen(sysFlag, SysFlagStoreHostV6) + 4 + 8
	const badLength = "record fields do not add up to TOTALSIZE"
	if p+4 > len(rec) {
		return badLength
	}
	bodyLen := int(int32(be.Uint32(rec[p:])))
	p += 4
	if bodyLen < 0 || bodyLen > len(rec)-p {
		return badLength
	}
	body := rec[p : p+bodyLen]
	p += bodyLen
	p, ok := skipTopic(rec, p, ver)
	if !ok || p+2 > len(rec) {
		return badLength
	}
	propsLen := int(int16(be.Uint16(rec[p:])))
	if propsLen < 0 || p+2+propsLen != len(rec) {
		return badLength
	}
	if !l.skipCRC && bodyCRC(body) != be.Uint32(rec[8:]) {
		return "body CRC mismatch (a fork that does not mask it? see --rocketmq-skip-crc)"
	}
	return ""
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
