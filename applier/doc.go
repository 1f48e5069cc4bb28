// Package applier is the slave side's writer. It receives (offset, bytes)
// chunks from the slave's network loop and makes the slave's segment
// directory identical to the master's: the same file names (the layout's
// SegmentName), the same sizes, the same bytes.
//
// # Contract
//
// Each chunk must start at End(), the offset just past the last byte
// written; an empty applier (End() == 0) accepts any first offset and
// creates that offset's segment, leaving the bytes before the offset zero
// (preallocated layouts) or a hole (growing layouts: the file is written at
// the in-file position so its size matches the master's). A chunk never
// crosses a segment boundary. A chunk at a segment's first byte creates the
// segment file: at full size, zero-filled, for a preallocated layout; empty
// otherwise. Bytes are written with pwrite; End advances only when a chunk is
// written completely, so a failed chunk is applied again at the same offset.
//
// Durability follows the SyncMode: fdatasync of the written segments (and
// of the directory after creating files), then the checkpoint. Synced() is
// the offset below which both are durable. A failed data sync makes End fall
// back to Synced: the page cache may have dropped the bytes above it.
//
// # Checkpoint
//
// The checkpoint lives in the state directory, not in the segment
// directory, so a broker can be started on the slave's directory as it is.
// It is the file "applier.checkpoint", exactly 1024 bytes: slot 0 at byte
// 0 and slot 1 at byte 512, each 128 bytes, the rest zero. A checkpoint
// with sequence number seq is written to slot seq%2 with one pwrite and an
// fdatasync, so the slot holding the previous state is never touched: a
// torn write destroys at most the slot being written. Recovery takes the
// valid slot with the higher seq; if neither is valid Open fails with
// ErrCorruptCheckpoint. A slot, all integers big-endian:
//
//	offset size field
//	     0    4 magic 0x48534143 ("HSAC")
//	     4    2 version, 1
//	     6    1 flags: bit 0 = the layout is preallocated; other bits 0
//	     7    1 name length n, 1..72
//	     8    8 seq, uint64, +1 per write
//	    16    8 base, int64: first offset held (0 when empty)
//	    24    8 end, int64: everything below it is synced; 0 = empty
//	    32    8 layout segment size, int64, > 0
//	    40   72 layout name, n bytes then zeros
//	   112   12 reserved, zero
//	   124    4 CRC-32C (Castagnoli) of bytes 0..123
//
// A new checkpoint file is written to "applier.checkpoint.tmp", synced,
// renamed and its directory synced. "applier.lock" beside it carries an
// flock that keeps a second applier out of the same state directory.
//
// # Recovery
//
// Open never parses record contents when a checkpoint records data: its end
// is the recovered End. Whatever lies beyond it on disk is a torn or
// unsynced tail that the master will resend. In End's segment the bytes
// after End are zeroed (preallocated: only the block range that reads
// non-zero, holes skipped with SEEK_DATA) or truncated away (growing
// layouts); segment files after End's segment are removed. The checkpoint's
// layout (name, segment size, preallocation) must equal the given layout's,
// else ErrLayoutMismatch. A checkpoint whose data is gone from the
// directory is ErrMissingData.
//
// Without a checkpoint (or with one recording nothing) but with segment
// files present, the newest run of contiguous segments is scanned with the
// layout's Scan from its oldest segment, a warning is logged, the tail is
// discarded as above and a checkpoint is written. With neither, the applier
// starts empty.
//
// # Moving aside
//
// MoveAside never deletes: it moves every file of the segment directory and
// the checkpoint into stateDir/aside-<UTC time>-<reason>/ with an ASIDE.txt
// note, for a reseed (the master no longer has the slave's next offset) or a
// diverged replica, after which Open starts empty and the slave copies afresh.
// The state directory must be on the segment directory's file system.
package applier
