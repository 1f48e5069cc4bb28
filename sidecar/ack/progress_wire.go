package ack

import (
	"encoding/binary"
	"time"
)

// progressEntry is the size of one slave's progress in the STATUS
// trailer (doc.go): reports uint8 and seven int64 fields.
const progressEntry = 1 + 7*8

// appendProgress appends, after the states, each slave's report format,
// last report, written and synced ends, lags and last report time, for
// as many slaves as fit before limit (an index in dst), in the slave
// list's order.
func appendProgress(dst []byte, limit int, s Snapshot) []byte {
	countAt := len(dst)
	if countAt+2 > limit {
		return dst
	}
	dst = append(dst, 0, 0) // progress_count, filled below
	n := 0
	for _, sl := range s.Slaves[:min(len(s.Slaves), maxSlaveWire)] {
		if len(dst)+progressEntry > limit {
			break
		}
		dst = append(dst, uint8(min(max(sl.Reports, 0), 255)))
		for _, v := range []int64{sl.Reported, sl.SlaveWritten, sl.SlaveSynced, micros(sl.AckLag),
			micros(sl.WriteLag), micros(sl.FlushLag), sl.LastReportAt.UnixMilli()} {
			dst = binary.BigEndian.AppendUint64(dst, uint64(v))
		}
		n++
	}
	binary.BigEndian.PutUint16(dst[countAt:], uint16(n))
	return dst
}

// micros is d in microseconds, keeping -1 (unknown) as -1.
func micros(d time.Duration) int64 {
	if d < 0 {
		return -1
	}
	return d.Microseconds()
}

// fromMicros is micros backwards.
func fromMicros(v int64) time.Duration {
	if v < 0 {
		return -1
	}
	return time.Duration(v) * time.Microsecond
}

// progress reads what appendProgress wrote into the first slaves of s.
// Slaves past the count (or every slave, from an older server) keep
// Reports 0: their written and synced ends are unknown.
func (d *decoder) progress(s *Snapshot) {
	n := int(d.u16())
	if n > len(s.Slaves) && d.err == nil {
		d.err = ErrBadFrame // more entries than slaves
	}
	for i := 0; i < n && d.err == nil; i++ {
		sl := &s.Slaves[i]
		sl.Reports = int(d.u8())
		sl.Reported, sl.SlaveWritten, sl.SlaveSynced = d.i64(), d.i64(), d.i64()
		sl.AckLag, sl.WriteLag, sl.FlushLag = fromMicros(d.i64()), fromMicros(d.i64()), fromMicros(d.i64())
		sl.LastReportAt = time.UnixMilli(d.i64())
	}
}
