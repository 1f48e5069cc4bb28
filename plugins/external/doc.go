// Package external runs a storage layout as a separate binary through
// hashicorp/go-plugin (net/rpc, contract in package plugins/shared) and
// presents it to the sidecar as a plugins.Layout.
//
// Supervision: a call that fails in the RPC layer means the plugin crashed; a
// call that takes longer than Options.CallTimeout means it hung. Either way
// the host logs it at error level ("layout plugin crashed" / "layout plugin
// hung", with path, pid and exit status), kills the process, and restarts it
// with capped exponential back-off. While it is down, Scan and IsBoundary
// return an error wrapping ErrUnavailable: callers pause and retry, and must
// never read it as "end of data". A restarted plugin must report the same
// Info as the first one, or the host refuses every call with ErrInfoChanged
// from then on.
//
// SegmentName and ParseName cannot return errors in plugins.Layout. Their
// answers are a pure function of the layout, so the host caches them; on a
// miss while the plugin is down they wait for the restart rather than give a
// wrong name, and after Close or ErrInfoChanged they return "" / false. Hosts
// that prefer an error use Name and Parse.
//
// Logs: the plugin's stderr lines (hclog JSON with @level and @message) are
// relayed into the host's zap logger at their own level with their fields;
// go-plugin's own log lines go there too. Anything the plugin prints on
// stdout or stderr outside hclog is logged line by line at warn level.
package external
