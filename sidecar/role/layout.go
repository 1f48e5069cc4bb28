package role

import (
	"errors"
	"fmt"
	"io/fs"
	"strconv"

	"go.uber.org/zap"

	"github.com/hasidecar/hasidecar/plugins"
	"github.com/hasidecar/hasidecar/plugins/builtin"
	"github.com/hasidecar/hasidecar/plugins/bytesize"
	"github.com/hasidecar/hasidecar/plugins/external"
	"github.com/hasidecar/hasidecar/sidecar/config"
)

var (
	// ErrLayout marks a layout the configuration cannot open: an unknown or
	// misconfigured built-in layout, or segment files that contradict the
	// segment size. Restarting with the same configuration cannot fix it.
	ErrLayout = errors.New("layout refused")
	// ErrSizeMismatch is a segment size the files in the directory
	// contradict (it also matches ErrLayout).
	ErrSizeMismatch = errors.New("segment files contradict the segment size")
)

// layoutError keeps err's message and adds ErrLayout to what it matches.
type layoutError struct{ err error }

func (e layoutError) Error() string   { return e.err.Error() }
func (e layoutError) Unwrap() []error { return []error{e.err, ErrLayout} }

// OpenLayout opens the layout l names (a built-in one, or an external
// plugin process) and returns a function that stops its plugin, if any.
func OpenLayout(log *zap.Logger, l config.Layout) (plugins.Layout, func() error, error) {
	if l.Plugin != "" {
		return startExternal(log.Named("layout"), l)
	}
	lay, err := builtin.Open(l.Name, builtin.Options{SegmentSize: l.SegmentSize, SkipCRC: l.SkipCRC,
		RocketMQMessageMagic: l.MessageMagic, RocketMQBlankMagic: l.BlankMagic})
	if err != nil {
		return nil, nil, layoutError{fmt.Errorf("layout %s: %w", l.Name, err)}
	}
	return lay, func() error { return nil }, nil
}

// startExternal launches a layout plugin binary; the segment size travels
// as its -segment-size flag.
func startExternal(log *zap.Logger, l config.Layout) (plugins.Layout, func() error, error) {
	args := append(append([]string(nil), l.PluginArgs...), "-segment-size="+strconv.FormatInt(l.SegmentSize, 10))
	ext, err := external.Start(log, external.Options{Path: l.Plugin, Args: args, CallTimeout: l.PluginTimeout})
	if err != nil {
		return nil, nil, fmt.Errorf("start layout plugin %s: %w", l.Plugin, err)
	}
	return ext, ext.Close, nil
}

// OpenLayoutFor opens the layout for the segment directory dir. For a
// preallocated layout the files already in dir decide: without an explicit
// segment size (l.SegmentSizeSet) their size is used; files that disagree
// with an explicit size, or with each other, are refused (ErrSizeMismatch)
// with both sizes named, since replicating with the wrong size stops at the
// first segment's end. A missing dir has nothing to say.
func OpenLayoutFor(log *zap.Logger, l config.Layout, dir string) (plugins.Layout, func() error, error) {
	lay, closeLayout, err := OpenLayout(log, l)
	if err != nil {
		return nil, nil, err
	}
	found, err := plugins.DetectSegmentSize(lay, dir)
	if errors.Is(err, fs.ErrNotExist) {
		return lay, closeLayout, nil
	}
	if err != nil {
		closeLayout()
		return nil, nil, layoutError{fmt.Errorf("%w in %s: %w (give the right --segment-size)", ErrSizeMismatch, dir, err)}
	}
	size := lay.Info().SegmentSize
	switch {
	case found == 0 || found == size:
		return lay, closeLayout, nil
	case l.SegmentSizeSet:
		closeLayout()
		return nil, nil, layoutError{fmt.Errorf("%w: --segment-size is %s (%d bytes) but the segment files in %s are %s (%d bytes)",
			ErrSizeMismatch, bytesize.Format(size), size, dir, bytesize.Format(found), found)}
	}
	closeLayout()
	log.Info("segment size taken from the segment files (--segment-size not given)", zap.String("dir", dir),
		zap.Int64("segment_size", found), zap.Int64("default", size))
	l.SegmentSize = found
	return OpenLayout(log, l)
}
