package main

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"github.com/hasidecar/hasidecar/sidecar/metrics"
)

// version is the release version, set at link time
// (-ldflags "-X main.version=1.2.3"); "dev" otherwise.
var version = "dev"

// buildInfo is the version, the VCS revision the go tool recorded (with
// "+dirty" for a modified tree) and the Go version.
func buildInfo() metrics.BuildInfo {
	b := metrics.BuildInfo{Version: version, Revision: "unknown", GoVersion: runtime.Version()}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return b
	}
	modified := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			b.Revision = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	if modified && b.Revision != "unknown" {
		b.Revision += "+dirty"
	}
	return b
}

func runVersion(_ context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && isHelp(args[0]) {
		fmt.Fprint(stdout, "Usage:\n  hasidecar version\n  hasidecar --version\n\nPrints the version, the VCS revision and the Go version.\n\nExample:\n  hasidecar version\n")
		return nil
	}
	if len(args) > 0 {
		return usageError{fmt.Errorf("version: unexpected argument %q", args[0])}
	}
	b := buildInfo()
	fmt.Fprintf(stdout, "hasidecar %s (revision %s, %s)\n", b.Version, b.Revision, b.GoVersion)
	return nil
}
