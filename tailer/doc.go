// Package tailer turns a live segment directory into a published safe end
// and hands out read-only mmap slices of its segments.
//
// # Contract
//
// One Tailer watches one directory through a plugins.Layout. Its Run method
// is the only goroutine; any number of senders call State, Changed, Read,
// Hint and IsBoundary concurrently.
//
//   - State.End (the safe end) is an absolute offset below which every byte
//     is final: a sender may ship it and a slave may acknowledge it. It only
//     moves forward, except on a divergence (below).
//   - A divergence is published bytes that changed on disk: the live
//     segment's file replaced by one whose bytes differ (compared byte by
//     byte with the old mapping), the live file shrunk or rewritten in place
//     (compared with a CRC-32C per 64 KiB block of what was published,
//     hashed before publishing), a sealed segment's file replaced or shrunk
//     (its old bytes are no longer mapped, so the divergence is at its
//     start), or the directory wiped. Checks run when a scan gives a reason: valid data
//     ends below End, a settled record changed, the last published block
//     changed (looked at once a second), or bytes after End have not
//     validated for a second. The tailer then calls the OnDiverge hook with
//     its lock held, moves End back to the first changed offset (a block
//     start when only digests were compared) and sets State.Diverged.Active;
//     nothing at or above it is readable until the writer's bytes there are
//     final again, when Active clears (and the hook is called again).
//   - State.Stalled is set, with the layout's Scan.Reason and one
//     rate-limited ERROR line, while bytes that do not validate have followed
//     End for a second without any published byte having changed (a fork's
//     magic code, a corrupt record).
//   - State.Oldest is the first offset of the contiguous run of segments that
//     ends at the newest segment; offsets below it are gone (ErrGone).
//   - Read never returns bytes across a segment boundary or at/after End,
//     and never touches a mapped page past the file's size (SIGBUS). The
//     tailer's own looks through the live mapping between scans catch a
//     fault (plugins.CatchFault) and fstat the file instead.
//   - Chunk.Data aliases a read-only shared mapping: it is valid until
//     Release, even if retention deletes the segment meanwhile (mappings are
//     reference counted and unmapped when the last Chunk is released).
//
// # Mappings and descriptors
//
// Only the pinned segment, the one End is in, is mapped with its
// descriptor kept open between polls. A sealed segment is a name and the
// identity (device, inode, size) of its file, taken from one stat when End
// walks past it or from its first mapping: Read maps it on demand, and
// the mapping is released with its last Chunk, except that at most
// lingerMaps recently read ones stay mapped for lingerFor after their last
// Read, so a sender reading a segment chunk by chunk does not map and
// unmap per chunk.
//
// # What is final
//
// For the segment that holds End the tailer calls Layout.Scan from the last
// Stable it returned (a record boundary). Bytes below Scan.Stable are final.
// The last record [Stable, End) is published once its bytes (a CRC-32C of
// the range) stayed identical for Options.Settle across polls, or at once
// when a writer's Hint covers it. Scan.Full publishes the whole segment and
// moves on to the segment starting exactly SegmentSize later, waiting for
// the writer to create it. Scan errors are logged (rate-limited) and retried;
// nothing is published on an error.
//
// A segment below the newest one the writer has started is sealed: the
// writer rolled past it, so its bytes are final up to SegmentSize. While
// End is at the start of such a segment it is published whole from one
// stat of its file (whose size must cover the segment; a shorter one is
// scanned as above), without an open, a mapping or a Scan, so a start-up
// walk costs a stat per sealed segment whatever the segment size. Which
// segment the writer has started is probed, at most once per listing, in
// the newest few: a file growing by append that is not empty, a
// preallocated one whose first 64 bytes are not all zero (a broker's
// preallocated segment ahead of the one it writes is all zero). Until one
// is found started, segments are scanned as above. What a sealed segment
// holds is not validated: a corrupt record in it is served as the writer
// left it.
//
// # Wake-ups
//
// Polling the live segment is the source of truth; notifications only make
// it faster. The loop polls the live tail adaptively (PollMin after
// activity, doubling to PollMax when idle) and is woken early by fsnotify
// (Create/Remove/Rename trigger a listing at once, Write a poll no sooner
// than PollMin after the last one) and by Hint, at once.
//
// A poll costs no system call when the mapping shows nothing new: the last
// Layout.Scan is reused while the last record's bytes are identical and
// the 64 bytes after it still zero (preallocated layouts) or the file kept
// its size (append layouts, fstat'ed through the open descriptor each
// poll). A preallocated live file is fstat'ed once a second and whenever
// valid data ends below End, before its published bytes are compared.
//
// Every Rescan the live segment's path is stat'ed (a file renamed over it)
// and the next poll calls Layout.Scan whatever the mapping shows (a layout
// whose records may start with zero bytes waits at most that long). The
// directory is listed each Rescan without fsnotify, else every 30 Rescans;
// a listing opens, stats and maps nothing (it opens and reads the first
// bytes of at most a few of the newest segments when End is at the start
// of a segment below them). A sealed segment's path is stat'ed once when
// End walks past it, then only when an event names it (Create over a known
// name), a Read finds another file under it, or events were lost (fsnotify
// missing: every listing, i.e. every Rescan, stats every segment; or
// ErrEventOverflow: the next listing stats every segment once). Polls
// touch only the live segment, so their cost does not depend on the number
// of sealed segments; a listing's does (reading the directory: every 30
// Rescans under fsnotify, and at each Create, Remove or Rename of a
// segment).
//
// Finding (verified by TestMmapWritesRaiseNoFsnotifyEvent): on Linux, a
// writer that stores into a MAP_SHARED mapping of a segment raises no
// inotify IN_MODIFY event, so fsnotify never reports a Write for it, even
// though the bytes are visible at once through any other mapping or read.
// Brokers such as RocketMQ write their commit log exactly that way, so only
// the adaptive poll (or a Hint) notices their appends.
//
// # Files
//
// Files the layout does not parse are ignored; segments whose start is not
// a multiple of SegmentSize are ignored with one warning. A segment is
// mapped for min(file size, SegmentSize) bytes; the pinned one is remapped
// through its descriptor when a non-preallocated file grows, a sealed one
// that a Read found short is stat'ed each poll until it grows (then its
// readers are woken). A segment that reappears after deletion, or a file
// that shrinks or is replaced (writer restarted and truncated), is logged
// and rescanned from its start.
//
// Segments are listed, opened and stat'ed through Options.FS (package
// plugins/fsio; nil is the operating system); the mapping itself and the
// layout's Scan use the real file. A stat, fstat or open that fails for
// another reason than a missing file is logged (rate-limited) and retried
// at the next poll; nothing past the bytes last examined is published
// meanwhile.
//
// One risk remains by design: a file truncated between the tailer's stat
// and a reader's access to a Chunk can fault. Writers do not truncate
// segments below data they have published, so this means divergence anyway.
package tailer
