// Package demo is `hasidecar demo`: a writer, a master and a slave (the
// real binary, as three processes) on this machine for a while, progress
// once a second, then a byte-for-byte comparison of the two directories
// ending in "demo OK".
package demo
