// Package onlineverify is `hasidecar verify --online`: it compares a
// slave's segment directory with a running master, block by block, over
// the master's digest channel, without copying the data, and with Repair
// rewrites the differing blocks from the master's bytes.
//
// # The exchange it relies on
//
// The digest channel of sidecar/haproto (digest.go; its doc.go gives every
// byte): a connection to the master's replication port opened with
// DigestMagic, then requests {"op","from","to"} answered one by one. This
// package uses three, through a Source (a sidecar/digest client wrapped by
// FromClient):
//
//   - info: the master's block size, its published end E and its segments
//     {base, size, name, covered}, covered being how far its lineage has
//     hashed the segment;
//   - digests [from, to): from a block start, to <= min(segment end, E,
//     covered): the CRC-32C (Castagnoli) of each block of [from, to), one
//     per block, the last one of a prefix when to cuts it. A block is
//     BlockSize bytes from the segment's start (segment-relative, the last
//     one of a segment shorter);
//   - fetch [from, to): the master's bytes, within one segment, to <= E,
//     at most 4 MiB (a block, here).
//
// Requests for the next span (Options.Chunk, 64 MiB, rounded down to whole
// blocks) are made while the current one is read from the slave's files,
// so the round trip overlaps the reading; blocks are read and hashed by one
// worker per CPU (at most 4), so hashing overlaps reading; the reading is
// held to Options.Rate on average.
//
// # What is compared
//
// The slave's data is [Base, End) of its directory: from the checkpoint in
// its state directory when there is one (End is then the durable end:
// bytes above it may still be written, or rolled back, by a running slave),
// else from the segment files (the oldest one's start, and the layout's
// Scan of the newest). Every byte of that range is either compared or
// listed in Report.NotCompared with its reason:
//
//   - master_lacks_segment: the master has no segment at that base
//     (retention deleted it, or it never had it);
//   - local_file_missing: the range says the slave holds it, the file is
//     not there;
//   - partial_leading_block: the slave's data starts inside a block (a
//     slave started mid-segment) that the master hashes whole;
//   - not_hashed_by_master: at or past the segment's covered offset, below
//     E: the master's lineage has not reached it yet;
//   - beyond_master_end: at or past E.
//
// The master's bytes past the slave's End are counted in MasterAhead, not
// compared. A master answer that contradicts the exchange (a segment size
// other than the slave's layout's, names that differ, bases out of order,
// a block size above 4 MiB, the wrong number of digests) is ErrBadMaster.
//
// # Verdict
//
// Each compared block's CRC is computed from the slave's file and compared
// with the master's. A block matches only when its bytes are all in the
// file and the CRCs are equal; anything else is a difference. Adjacent
// differing blocks of a segment are listed as one Difference (offset,
// length, segment), at most MaxDifferences (the rest counted). The
// command's verdict: identical (exit 0) only when no compared block
// differs and at least one byte was compared — it says how many bytes were
// compared and which were not; repaired (exit 0) when every difference
// was repaired and read back equal;
// different (exit 2) when one does and is not repaired; error (exit 1)
// when the comparison could not be made (no data, the master unreachable
// or wrong, an I/O error), with the partial report.
//
// # Repair
//
// With Repair, each differing block is rewritten from the master when
// all of these hold, in this order:
//
//  1. the block is whole: it ends at BlockSize or at the segment's end, so
//     it is below the slave's End and the master's E and covered offset
//     — never the live block of either side, where a writer (the broker,
//     or the slave's applier) may still change bytes;
//  2. the bytes fetched from the master have the CRC that was compared
//     (else the master's file changed since it hashed it: not written);
//  3. the slave's block, read again, still differs (a matching range is
//     never written).
//
// Then: pwrite of the block into the existing file, fsync of the file, a
// record appended to the repairs log and fsynced (the checkpoint that the
// repair happened), and the block read back and compared again; only then
// is it "repaired". FetchedBytes counts every byte fetched.
//
// # repairs.log
//
// <state-dir>/repairs.log, created 0600 on the first repair (its directory
// fsynced), appended to, never rewritten: one JSON object per line,
//
//	{"time":"2026-12-02T17:00:00.123456789Z","segment":"00000000000067108864",
//	 "offset":123731968,"length":1048576,"file_offset":56623104,
//	 "old_crc":305419896,"crc":2596069104,"master_end":209715200}
//
// time UTC (RFC 3339), offset and length absolute in the commit log,
// file_offset inside the segment file, old_crc the slave's CRC-32C of the
// block before the write, crc the master's (and now the slave's),
// master_end the master's published end at the time of the run.
package onlineverify
