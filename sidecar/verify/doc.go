// Package verify compares two segment directories of one layout: the
// master's (A) and a replica's (B). Its contract is that a copy it calls
// equal holds every valid byte the master holds, at the same offsets, in
// files of the same names and sizes.
//
// # Errors: nothing to compare is never "equal"
//
// Dirs returns an error, not a report, when
//   - a directory is missing (wraps fs.ErrNotExist) or holds no segment of
//     the layout (wraps ErrNoSegments), naming the path;
//   - a segment file contradicts the layout's segment size (a *SizeError,
//     wrapping ErrSegmentSize, naming the file and both sizes): a name that
//     is not a multiple of it, a preallocated file of another size, a
//     growing file larger than it. Comparing such files with the wrong size
//     would compare the wrong byte ranges;
//   - a file cannot be read, or the layout's Scan fails.
//
// plugins.DetectSegmentSize (shared with the master, slave and writer
// commands) finds the size all segment files of a preallocated layout share.
//
// # What is compared
//
// Each side's valid end is found with the layout's Scan, walking its
// contiguous segments from the first compared one. The compared range runs
// from Start to End, the longer of the two valid ends:
//   - Start is the later of the two oldest segments by default: segments
//     older than the other side's oldest (a replica started from the
//     master's last segment, or a master whose retention deleted segments)
//     are listed in a note and not compared, and the report says where
//     comparison began. With Exact, Start is the oldest segment of either
//     side, so every name must be on both sides.
//   - Every segment at or above Start present on either side is considered.
//     On both sides: bytes are compared up to End (whole files with Exact,
//     bytes past the valid end included) and sizes must be equal. On one
//     side only: a difference, except a preallocated next segment.
//   - Valid ends must be equal: B ending first is an incomplete copy (a
//     replication still running, or a truncated copy: either way not
//     equal); B ending later means it diverged.
//
// A preallocated next segment is the one exception to "present on one side
// only": the segment right after the one holding the last valid byte of
// either side, entirely zero (RocketMQ keeps one ready on the master). It is
// accepted with a note; if it holds a non-zero byte, the difference names
// the file and the offset of the first one.
//
// # Report
//
// Report counts the segments and bytes compared, gives Start, End and both
// valid ends, and lists differences (at most Options.MaxDiffs, the rest
// counted in Omitted). Each Diff names the segment file and, when it is
// about bytes, the absolute offset and file position of the first
// differing byte. Memory is bounded: files are read through two 1 MiB
// buffers whatever their size.
package verify
