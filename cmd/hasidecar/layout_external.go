package main

import (
	"fmt"
	"strconv"
	"time"

	"go.uber.org/zap"

	"github.com/hasidecar/hasidecar/plugins"
	"github.com/hasidecar/hasidecar/plugins/external"
)

// startExternal launches a layout plugin binary; the segment size travels as
// its -segment-size flag.
func startExternal(log *zap.Logger, path string, args []string, size int64, callTimeout time.Duration) (plugins.Layout, func() error, error) {
	ext, err := external.Start(log, external.Options{
		Path: path, Args: append(args, "-segment-size="+strconv.FormatInt(size, 10)), CallTimeout: callTimeout,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("start layout plugin %s: %w", path, err)
	}
	return ext, ext.Close, nil
}
