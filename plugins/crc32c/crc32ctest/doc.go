// Package crc32ctest holds test helpers for crc32c directories, shared by
// the layout's tests and the plugin host's tests and benchmarks.
package crc32ctest
