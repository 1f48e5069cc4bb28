// Package lineage keeps, per segment of a commit-log directory, one
// CRC-32C per 1 MiB block (format: to be documented byte by byte).
package lineage
