// Package loadgen is hasidecar's load generator (`hasidecar write`): a
// broker-like writer appending records to a segment directory in one of
// the layouts (rocketmq through mmap, raw, crc32c), at a rate, for a
// duration or a count, optionally waiting on a master's ack socket after
// each append as a synchronous commit does. Demo and bench drive it too.
package loadgen
