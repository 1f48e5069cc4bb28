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
package plugins
