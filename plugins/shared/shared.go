package shared

import (
	"net/rpc"
	"os"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"

	"github.com/hasidecar/hasidecar/plugins"
)

// Handshake is the go-plugin handshake every layout plugin and the host
// share. The cookie only tells a user who runs the binary by hand that it is
// a plugin; it is not a secret.
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  1,
	MagicCookieKey:   "HASIDECAR_LAYOUT_PLUGIN",
	MagicCookieValue: "7f3c9a2e-layout-v1-hasidecar",
}

// PluginName is the single plugin a layout binary serves.
const PluginName = "layout"

// PluginMap is the plugin set for plugin.ClientConfig.Plugins. Hosts that
// want a call timeout set it on the dispensed *LayoutRPC (WithTimeout).
var PluginMap = map[string]plugin.Plugin{PluginName: &LayoutPlugin{}}

// LayoutPlugin is the go-plugin net/rpc plugin for plugins.Layout. Impl is
// set on the plugin side only.
type LayoutPlugin struct {
	Impl plugins.Layout
}

var _ plugin.Plugin = (*LayoutPlugin)(nil)

// Server returns the RPC server wrapping Impl (plugin side).
func (p *LayoutPlugin) Server(*plugin.MuxBroker) (interface{}, error) {
	return &LayoutRPCServer{Impl: p.Impl}, nil
}

// Client returns the RPC client implementing plugins.Layout (host side).
func (p *LayoutPlugin) Client(_ *plugin.MuxBroker, c *rpc.Client) (interface{}, error) {
	return &LayoutRPC{client: c}, nil
}

// NewPluginLogger returns the logger a plugin main should use: hclog JSON
// (@level, @message, @module and the fields) on stderr, every level, so the
// host can relay each line at its real level and filter it itself.
func NewPluginLogger(name string) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{
		Name:       name,
		Level:      hclog.Trace,
		Output:     os.Stderr,
		JSONFormat: true,
	})
}

// Serve serves impl as a layout plugin with a NewPluginLogger logger. It is
// for plugin mains; it returns when the host ends the plugin.
func Serve(impl plugins.Layout) {
	ServeWithLogger(impl, NewPluginLogger(PluginName))
}

// ServeWithLogger is Serve with the plugin's own logger, for mains that log
// before serving.
func ServeWithLogger(impl plugins.Layout, log hclog.Logger) {
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: Handshake,
		Plugins:         map[string]plugin.Plugin{PluginName: &LayoutPlugin{Impl: impl}},
		Logger:          log,
	})
}
