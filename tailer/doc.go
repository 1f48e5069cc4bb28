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
//   - A divergence is published bytes that changed on disk: a segment file
//     replaced by one whose bytes differ (compared byte by byte with the old
//     mapping), a file shrunk or rewritten in place (compared with a CRC-32C
//     per 64 KiB block of what was published, hashed before publishing), or
//     the directory wiped. Checks run when a scan gives a reason: valid data
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
//     and never touches a mapped page past the file's size (SIGBUS).
//   - Chunk.Data aliases a read-only shared mapping: it is valid until
//     Release, even if retention deletes the segment meanwhile (mappings are
//     reference counted and unmapped when the last Chunk is released).
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
// # Wake-ups
//
// Polling is the source of truth; notifications only make it faster. The
// loop polls the live tail adaptively (PollMin after activity, doubling to
// PollMax when idle), lists the directory every Rescan, and is woken early
// by fsnotify (Create/Remove/Rename trigger a listing, Write a poll;
// ErrEventOverflow a full listing) and by Hint.
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
// a multiple of SegmentSize are ignored with one warning. Each segment is
// mapped for min(file size, SegmentSize) bytes and remapped when a
// non-preallocated file grows. A segment that reappears after deletion, or
// a file that shrinks or is replaced (writer restarted and truncated), is
// logged as an error and rescanned from its start.
//
// Segments are listed, opened and stat'ed through Options.FS (package
// plugins/fsio; nil is the operating system); the mapping itself and the
// layout's Scan use the real file. A stat or open that fails for another
// reason than a missing file is logged (rate-limited) and retried at the
// next poll; nothing past the bytes last examined is published meanwhile.
//
// One risk remains by design: a file truncated between the tailer's stat
// and a reader's access to a Chunk can fault. Writers do not truncate
// segments below data they have published, so this means divergence anyway.
package tailer
