package loadgen

import (
	"errors"
	"fmt"
	"io/fs"

	"go.uber.org/zap"

	"github.com/hasidecar/hasidecar/plugins"
	"github.com/hasidecar/hasidecar/plugins/bytesize"
	"github.com/hasidecar/hasidecar/plugins/crc32c"
	"github.com/hasidecar/hasidecar/plugins/rocketmq"
	"github.com/hasidecar/hasidecar/sidecar/role"
)

// The write command's writers for layouts that are not built in: their
// directories are replicated with --layout-plugin, and `hasidecar write
// --layout NAME` produces them for tests, demos and benchmarks.

// crc32c.Writer is already an appender: Append returns the end offset.
var _ Appender = (*crc32c.Writer)(nil)

// openCrc32cAppender opens dir for appending length-prefixed CRC32C records
// through a shared mmap of preallocated segments, the format the example
// plugin hasidecar-layout-crc32c serves. It resumes after the last valid
// record already in dir.
func openCrc32cAppender(log *zap.Logger, dir string, size int64) (Appender, error) {
	w, err := crc32c.OpenWriter(log.Named("crc32c_writer"), dir, size)
	if err != nil {
		return nil, fmt.Errorf("write: open crc32c directory %s: %w", dir, err)
	}
	return w, nil
}

// size is the segment size to write with: --segment-size, checked against
// the files already in the directory; without the flag, for a preallocated
// layout, the size of those files (as master and slave take it).
func (c Config) size(log *zap.Logger) (int64, error) {
	size := c.SegmentSize
	var lay plugins.Layout
	var err error
	switch c.Layout {
	case "rocketmq":
		lay, err = rocketmq.New(rocketmq.Options{SegmentSize: size})
	case "crc32c":
		lay, err = crc32c.New(size)
	default:
		return size, nil // a growing layout: file sizes are data ends
	}
	if err != nil {
		return 0, usageError{fmt.Errorf("--segment-size: %w", err)}
	}
	found, err := plugins.DetectSegmentSize(lay, c.Dir)
	switch {
	case errors.Is(err, fs.ErrNotExist), err == nil && (found == 0 || found == size):
		return size, nil
	case err != nil:
		return 0, fmt.Errorf("write: %w in %s: %w (give the right --segment-size)", role.ErrSizeMismatch, c.Dir, err)
	case c.SizeGiven:
		return 0, fmt.Errorf("write: %w: --segment-size is %s (%d bytes) but the segment files in %s are %s (%d bytes)",
			role.ErrSizeMismatch, bytesize.Format(size), size, c.Dir, bytesize.Format(found), found)
	}
	log.Info("segment size taken from the segment files (--segment-size not given)", zap.String("dir", c.Dir), zap.Int64("segment_size", found))
	return found, nil
}
