package main

import (
	"fmt"

	"go.uber.org/zap"

	"github.com/hasidecar/hasidecar/plugins/crc32c"
)

// The write command's writers for layouts that are not built in: their
// directories are replicated with --layout-plugin, and `hasidecar write
// --layout NAME` produces them for tests, demos and benchmarks.

// crc32c.Writer is already an appender: Append returns the end offset.
var _ appender = (*crc32c.Writer)(nil)

// openCrc32cAppender opens dir for appending length-prefixed CRC32C records
// through a shared mmap of preallocated segments, the format the example
// plugin hasidecar-layout-crc32c serves. It resumes after the last valid
// record already in dir.
func openCrc32cAppender(log *zap.Logger, dir string, size int64) (appender, error) {
	w, err := crc32c.OpenWriter(log.Named("crc32c_writer"), dir, size)
	if err != nil {
		return nil, fmt.Errorf("write: open crc32c directory %s: %w", dir, err)
	}
	return w, nil
}
