// Package rocketmq is the built-in layout for an Apache RocketMQ commit-log
// directory (store/commitlog), a record encoder, and a broker-like Writer.
//
// # Files
//
// Segments are named by their start offset as 20 zero-padded decimal digits
// (00000000000000000000, 00000000001073741824, ...) and are created at the
// full segment size (1 GiB by default), zero-filled, and written through mmap.
// File size therefore says nothing about where data ends. Any other name
// (checkpoint, abort, temporary files, directories) is not a segment.
//
// # Records (all integers big-endian)
//
//	TOTALSIZE                  4  whole record, this field included
//	MAGICCODE                  4  0xDAA320A7 (v1) or 0xDAA320AB (v2)
//	BODYCRC                    4  CRC32 IEEE of the body & 0x7FFFFFFF
//	QUEUEID                    4
//	FLAG                       4
//	QUEUEOFFSET                8
//	PHYSICALOFFSET             8  the record's own absolute offset
//	SYSFLAG                    4  0x10: BORNHOST is 20 bytes; 0x20: STOREHOST is 20 bytes
//	BORNTIMESTAMP              8
//	BORNHOST                   8  IPv4 + port (20: IPv6 + port)
//	STORETIMESTAMP             8
//	STOREHOSTADDRESS           8  IPv4 + port (20: IPv6 + port)
//	RECONSUMETIMES             4
//	PREPAREDTRANSACTIONOFFSET  8
//	BODYLENGTH + BODY          4 + n
//	TOPICLENGTH + TOPIC        1 + t (v1, t <= 127) or 2 + t (v2)
//	PROPERTIESLENGTH + PROPS   2 + p
//
// A v1 record with IPv4 hosts is 91 + n + t + p bytes. When the next record
// does not fit with 8 bytes to spare, the writer seals the segment with a
// blank record: TOTALSIZE = the bytes left in the segment, MAGICCODE =
// 0xCBD43194; the rest of the segment is left as it is.
//
// # Where valid data ends
//
// Scan walks records as a recovering broker does. A record is valid when its
// magic is an accepted message magic, MinRecordSize <= TOTALSIZE <= bytes left
// in the segment and in the file, TOTALSIZE equals the length computed from
// its fields, PHYSICALOFFSET equals its own offset, and (unless SkipCRC) the
// body CRC matches. A blank record whose TOTALSIZE is exactly the bytes left
// seals the segment (Full; End = Stable = segment end), as does valid data up
// to the segment's last byte. The first other header (zeros, garbage, a torn
// record) is the end of the data, not an error. End is the end of the last
// valid record; Stable is the start of that record, because the writer may
// still be copying it, or End when no record follows from. A segment with a
// tail shorter than a blank record is not Full (RocketMQ would not move on
// either).
//
// Scan reads the file with pread in windows that start at 16 KiB and grow
// while a record continues past them, never past the file's current size: on
// a VM a map, its page faults and the unmap cost 100-200 µs per call, which
// dominated the latency of synchronous commits. IsBoundary walks the same
// way up to the offset it checks. Nothing is mapped, so a file truncated
// underneath only reads short: its data ends there.
//
// # Writer
//
// Writer is a single-goroutine, broker-like appender used by tests, demos and
// `hasidecar write`. It recovers its end with Scan on open and deletes the
// oldest segments beyond WriterOptions.Retain after each roll. Rolling does
// not wait for the disk; Flush fsyncs the segments sealed since the last
// Flush, msyncs the current one and fsyncs the directory.
package rocketmq
