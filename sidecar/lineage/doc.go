// Package lineage keeps the lineage of a commit-log directory's segments:
// one CRC-32C per block, maintained as bytes are appended, so two
// sidecars can tell whether their copies agree anywhere below their ends
// by comparing a few bytes per segment instead of the data.
//
// # Blocks
//
// Block k of the segment whose first byte is at absolute offset B (its
// base) and whose size is S covers [B + k*BlockSize, min(B + (k+1)*BlockSize, B+S)),
// BlockSize = 1 MiB. A block's digest is the CRC-32C (Castagnoli) of its
// bytes; a partial block is a prefix [B + k*BlockSize, end) of one and its
// digest is the CRC-32C of that prefix. A segment's rollup over its first
// n complete blocks is the CRC-32C of their n digests written big-endian
// (4n bytes). A segment's last block is complete at the segment's end
// even when shorter than BlockSize.
//
// # Files
//
// The store keeps, in its directory, one file per segment named after
// the segment's file: <segment name>.lin. All integers are big-endian.
//
//	offset size  field
//	     0    8  magic        "HASILIN1"
//	     8    4  version      uint32, 1
//	    12    4  block size   uint32, 1048576
//	    16    8  base         int64, the segment's base offset, >= 0
//	    24    8  size         int64, the segment's size, 1 .. 1 TiB
//	    32    4  record 0     uint32, the CRC-32C of complete block 0
//	    36    4  record 1     ... of complete block 1, and so on in order
//
// There is no header checksum: a header is checked field by field, and
// records only ever follow it in block order. Records are appended by
// Sync and fdatasynced; the partial block holding the coverage's end
// lives in memory only, so after a restart the coverage is the end of
// the last complete block on disk. On open:
//
//   - a torn trailing record (1..3 bytes) is cut off the file and the
//     file fdatasynced, with an info log line;
//   - a file whose header is not as above (magic, version, block size,
//     base, size), that holds more records than its segment has blocks,
//     that overlaps a file loaded before it, or that later disagrees with
//     the segment registered for its base or name (Segment) is renamed
//     to <name>.lin.bad-<unix nanoseconds>, never deleted and never read
//     again, with a warning log line; its segment starts with no lineage;
//   - leftovers of an interrupted atomic write (any file ending in .tmp:
//     <name>.lin.tmp, stamps.json.tmp) are removed.
//
// A new file (Segment) and a rebuilt one (Rebuild) are written as
// <name>.lin.tmp, fsynced, renamed into place and the directory fsynced.
// Truncate cuts the file after the kept records and fdatasyncs it at
// once; Forget deletes it.
//
// Example: segment 00000000001073741824 (base 1073741824, size 1 GiB)
// after 2 MiB + 4 KiB were appended, a block of zero bytes, one of 0xff
// bytes and 4 KiB of zeros, and synced, is a 40-byte file:
//
//	48 41 53 49 4c 49 4e 31   "HASILIN1"
//	00 00 00 01               version 1
//	00 10 00 00               block size 1048576
//	00 00 00 00 40 00 00 00   base 1073741824
//	00 00 00 00 40 00 00 00   size 1073741824
//	14 29 8c 12               block 0: CRC-32C of 1 MiB of 0x00
//	91 a3 b1 e6               block 1: CRC-32C of 1 MiB of 0xff
//
// Covered is 1073741824 + 2101248 while the store runs (the 4 KiB partial
// block, digest 98 f9 41 89, in memory) and 1073741824 + 2097152 after
// a restart; Rollup(base, 2) is 88 bf ec 21, the CRC-32C of
// 14 29 8c 12 91 a3 b1 e6.
//
// # Stamps
//
// stamps.json, beside the .lin files, maps each segment's base (a decimal
// string) to what Stamp last recorded: {"size":..,"mtime_ns":..,"covered":..},
// the segment file's size and modification time when its lineage was
// confirmed up to covered. A consumer that finds other values on the file
// knows it changed behind the lineage's back and rebuilds it. The file is
// rewritten atomically (tmp, fsync, rename, fsync the directory); a bad
// one is moved aside like a bad .lin file and every segment counts as
// unconfirmed.
//
// # Concurrency and bounds
//
// A Store is safe for concurrent use; Append never waits for an fsync.
// A segment's CRCs stay in memory: 4 bytes per MiB, a segment over
// MaxSegment (1 TiB) is refused.
package lineage
