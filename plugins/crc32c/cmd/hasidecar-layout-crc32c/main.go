package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/hasidecar/hasidecar/plugins"
	"github.com/hasidecar/hasidecar/plugins/bytesize"
	"github.com/hasidecar/hasidecar/plugins/crc32c"
	"github.com/hasidecar/hasidecar/plugins/shared"
)

const (
	envSegmentSize = "HASIDECAR_SEGMENT_SIZE"
	envHangFile    = "HASIDECAR_LAYOUT_TEST_HANG_FILE"
	defaultSize    = "1GiB"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "hasidecar-layout-crc32c:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("hasidecar-layout-crc32c", flag.ContinueOnError)
	def := os.Getenv(envSegmentSize)
	if def == "" {
		def = defaultSize
	}
	sizeFlag := fs.String("segment-size", def, "segment size, e.g. 64MiB (env "+envSegmentSize+")")
	if err := fs.Parse(args); err != nil {
		return err
	}
	size, err := bytesize.Parse(*sizeFlag)
	if err != nil {
		return err
	}
	layout, err := crc32c.New(size)
	if err != nil {
		return err
	}
	log := shared.NewPluginLogger("crc32c")
	var impl plugins.Layout = layout
	if hang := os.Getenv(envHangFile); hang != "" {
		impl = &hangingLayout{Layout: layout, file: hang}
		log.Warn("test hook: Scan blocks while the hang file exists", "hang_file", hang)
	}
	log.Info("crc32c layout plugin starting", "segment_size", size, "pid", os.Getpid())
	shared.ServeWithLogger(impl, log)
	return nil
}

// hangingLayout is the test hook: Scan waits while file exists.
type hangingLayout struct {
	*crc32c.Layout
	file string
}

func (h *hangingLayout) Scan(path string, start, from int64) (plugins.Scan, error) {
	for {
		if _, err := os.Stat(h.file); err != nil {
			break
		}
		time.Sleep(10 * time.Millisecond) // simulating a hang: polling is the point
	}
	return h.Layout.Scan(path, start, from)
}
