package metrics

import "github.com/prometheus/client_golang/prometheus"

// BuildInfo is what hasidecar_build_info says about the running binary.
type BuildInfo struct {
	Version   string // the release version ("dev" for a plain go build)
	Revision  string // the VCS revision, "+dirty" appended when modified; "unknown" when not recorded
	GoVersion string
}

// NewBuildInfo returns the hasidecar_build_info gauge (value 1, labels
// version, revision, goversion), registered on both roles' metrics so that
// a dashboard can tell which build each sidecar runs.
func NewBuildInfo(b BuildInfo) prometheus.Collector {
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "hasidecar_build_info",
		Help:        "Build of the running hasidecar binary; always 1.",
		ConstLabels: prometheus.Labels{"version": b.Version, "revision": b.Revision, "goversion": b.GoVersion},
	})
	g.Set(1)
	return g
}
