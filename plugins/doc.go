// Package plugins owns the storage-layout contract: how the segment files of a
// commit-log directory are named, how large they are, whether they are
// preallocated, and where the valid data inside a segment ends.
//
// The contract is coarse on purpose. It passes paths and absolute offsets,
// never segment bytes, so a layout served by an external go-plugin process
// costs one round trip per tailer wake-up, not one per byte. A layout that must
// look inside a file opens or maps it itself.
//
// Offsets are absolute positions in the commit log (the "physical offset" of
// RocketMQ): segment N covers [start, start+SegmentSize) and its file is named
// by start. Built-in layouts live in sub-packages (rocketmq, raw); external
// layouts are binaries started through hashicorp/go-plugin.
//
// What the tailer assumes of every writer: it starts a new segment only
// after it sealed the one before (so a segment below the newest one the
// writer has started is complete and never rewritten), and a preallocated
// segment it has not started yet is all zero bytes. Sealed segments below
// the newest started one are therefore published from one stat each, without
// a Scan: their bytes are replicated as the writer left them and are not
// validated (the master's lineage and the slave's scrub then vouch that the
// copies are identical, not that the records are sound).
package plugins
