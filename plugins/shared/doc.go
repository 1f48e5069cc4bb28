// Package shared is the go-plugin contract between the sidecar (host) and an
// external layout binary (plugin): the handshake, the plugin map and the
// net/rpc glue that carries plugins.Layout across the process boundary.
//
// Transport: go-plugin's net/rpc protocol over its yamux-multiplexed Unix
// socket; no TLS (the socket is private to the two processes). Versioning:
// Handshake.ProtocolVersion is bumped whenever a method, an argument or a
// reply below changes; go-plugin refuses a plugin built for another version.
//
// Methods, served under go-plugin's RPC name "Plugin":
//
//	Info        struct{}      -> InfoReply
//	SegmentName int64         -> string
//	ParseName   string        -> ParseReply
//	Scan        ScanArgs      -> ScanReply
//	IsBoundary  BoundaryArgs  -> BoundaryReply
//
// Errors of Scan and IsBoundary travel inside the reply as a WireError: a
// kind code plus the message. The host rebuilds a *RemoteError that still
// satisfies errors.Is for fs.ErrNotExist, fs.ErrPermission,
// plugins.ErrCorrupt and plugins.ErrBadConfig. An error returned by the RPC
// layer itself (not by the layout) wraps ErrTransport, and a call that
// exceeds the client's timeout wraps ErrTimeout; the host treats both as a
// dead or hung plugin.
//
// Plugins never write to stdout (it carries go-plugin's handshake); they log
// hclog JSON to stderr, which the host relays to its own log.
package shared
