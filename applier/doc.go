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
// End() survives a crash of the process (SIGKILL, a panic), not of its host:
// before End covers a chunk that is not yet synced, the chunk is recorded in
// the journal (below), and recovery keeps every such chunk whose bytes it
// can read back. A slave may therefore acknowledge End() (PostgreSQL's
// remote_write); Synced() also survives an OS crash or a power loss.
//
// # File system
//
// Every file operation on the segment and state directories goes through
// Options.FS (package plugins/fsio; nil is the operating system), so tests
// run the failure paths on real files with faults injected by
// plugins/fsio/fsiotest. Outside it: the layout's Scan and
// plugins.ListSegments at recovery, which read by path, and MoveAside,
// which has no Options. On a failure: a chunk whose write, segment creation
// or preallocation fails leaves End unchanged; a short write is completed,
// and one that stops making progress fails with io.ErrShortWrite; a failed
// data sync or checkpoint write moves End back to Synced, with one WARN
// line; a sync slower than Options.SlowSync (default 1s) is logged at WARN.
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
// # Journal
//
// "applier.journal" beside the checkpoint records, under SyncInterval and
// SyncNone, each chunk written since the last checkpoint. ApplyV writes the
// chunk with pwritev, then its record with one pwrite and no sync (the page
// cache outlives the process), and only then advances End. A record is 32
// bytes, all integers big-endian:
//
//	offset size field
//	     0    4 magic 0x48534A31 ("HSJ1": journal, version 1)
//	     4    4 length, uint32, > 0: the chunk's bytes
//	     8    8 generation, uint64: seq of the checkpoint slot written last
//	    16    8 offset, int64 >= 0: the chunk's first byte
//	    24    4 CRC-32C (Castagnoli) of the chunk's bytes
//	    28    4 CRC-32C (Castagnoli) of bytes 0..27
//
// Records of a generation lie back to back from byte 0. Every checkpoint
// write starts the next generation: its records overwrite the file from
// byte 0 again, and the older records after them are told apart by their
// generation, so the file holds at most one generation's worth. A
// generation holds at most 32768 records (1 MiB): the record that fills it
// forces a sync, so the journal stays bounded under SyncNone too. A chunk
// whose record cannot be written (an I/O error, or more than 2^32-1 bytes)
// is synced before ApplyV returns instead. After a failed sync has moved End
// back, and after Open, the journal is truncated before its next record.
// Before a new checkpoint file is created (its seq starts again at 1) the
// journal is truncated and synced, so no record of an older file can match
// the new generations. Under SyncEvery nothing is recorded: each chunk is
// synced before ApplyV returns. MoveAside moves the journal with the
// checkpoint.
//
// # Recovery
//
// With a checkpoint of seq S and end E, the journal is replayed from its
// first record: a record is accepted while it is intact (magic and record
// CRC), of generation S, starts at the proven end (E; when E is 0, the
// first record's offset becomes the base), lies within one segment, and
// its bytes, read back from the segment file, have its CRC-32C. The first
// record that fails ends the proof, and nothing after it counts. The proof
// therefore never exceeds what this process wrote since checkpoint S and
// can still read back: after a host crash a record may survive while its
// data page did not, and the CRC check rejects it. Records of an earlier
// generation, a torn last record, a record past the end of a segment file
// or of a missing file all end the proof. When records were accepted the
// proven end P becomes the recovered End: the tail after P is discarded as
// below, the segment files holding [E, P) and the directory are fsynced,
// and only then a checkpoint with end P is written. The log says how many
// entries and bytes were proven and why the replay stopped. A checkpoint
// recording nothing whose directory holds a segment file before the first
// record's segment does not use the journal (the scan below decides).
//
// Open never parses record contents when a checkpoint records data: its end,
// extended by the journal's proof, is the recovered End. Whatever lies
// beyond it on disk is a torn or unsynced tail that the master will resend. In End's segment the bytes
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
// MoveAside never deletes: it moves every file of the segment directory,
// the checkpoint and the journal into stateDir/aside-<UTC time>-<reason>/ with an ASIDE.txt
// note, for a reseed (the master no longer has the slave's next offset) or a
// diverged replica, after which Open starts empty and the slave copies afresh.
// The state directory must be on the segment directory's file system.
//
// # Cutting back
//
// CutAt(off) makes off, in (Base, End], the new End: for a replica the
// master found diverged above off. It never deletes: first everything
// applied is synced; then the bytes [off, End) of each segment they span
// are copied into a new directory stateDir/cut-<UTC time>/, one file per
// segment named as the segment and holding exactly that segment's cut
// bytes from its first byte, with info.json
//
//	{"cut_offset": off, "old_end": End, "bytes": End-off, "reason": "...", "time": "...",
//	 "segments": [{"name": "...", "segment_offset": base, "from": ..., "to": ...}, ...]}
//
// (absolute offsets; each file holds [from, to)); the copies, info.json,
// the new directory and stateDir are fsynced. Only then the checkpoint
// records off, and the tail is removed as recovery removes an unsynced
// one: zeroed in off's segment (preallocated layouts) or truncated away,
// later segment files removed. A crash before the checkpoint write leaves
// the replica as it was (and a cut directory to ignore); after it, Open
// finishes the removal. off should be a record boundary: the caller
// finds it (the master refuses to stream from inside a record).
package applier
