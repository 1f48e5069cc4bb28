// Package raw is the built-in layout for plain append-only segment files.
//
// Format: fixed-size segments named by their absolute start offset as 20
// zero-padded decimal digits ("00000000000000000000", "00000000000067108864",
// ...), like RocketMQ's commit log. Segments are not preallocated: the writer
// appends with write(2), so a segment's valid data is exactly its file size
// (capped at the segment size), and every byte below it is final. There are no
// records: any offset inside a segment is a boundary, and a writer may split one
// Append across two segments. A segment is full when its size reaches the
// segment size; the next byte goes to the next segment.
package raw
