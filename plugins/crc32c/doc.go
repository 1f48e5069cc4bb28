// Package crc32c is the example external layout: length-prefixed records with
// a CRC32C per record, in preallocated segments. It is served as a go-plugin
// binary by cmd/hasidecar-layout-crc32c and is deliberately unlike the
// built-in layouts, so that it exercises every part of the plugin contract.
//
// Segment files are named "seg-<start>.log", start being the segment's
// absolute start offset as 20 zero-padded decimal digits. Every segment is
// created at its full size and zero-filled before the first record is put in
// it, so file size says nothing about where data ends.
//
// A segment is a sequence of records followed by free space:
//
//	record  = length (uint32, big-endian, 1 .. 0xFFFFFFFE)
//	          crc    (uint32, big-endian, CRC32C (Castagnoli) of payload)
//	          payload (length bytes)
//
// A record never crosses a segment. Where a record should start:
//   - a zero length word means the segment has room but no more data yet;
//   - the length word 0xFFFFFFFF is the end-of-segment marker: the writer
//     found the next record too large for the room left, the rest of the
//     segment is padding, and the segment is full;
//   - fewer than 8 bytes (a header) left means the segment is full too; the
//     writer leaves them zero.
//
// The writer (Writer) stores a record's payload and CRC before its length
// word, so a reader that sees the length usually sees the rest. Scan still
// checks every record's bounds and CRC and stops at the first one that does
// not validate: that is the end of the data, never an error, because a record
// the writer is still storing looks exactly like a damaged one. Stable is the
// start of the last valid record.
package crc32c
