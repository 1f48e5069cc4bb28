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
//
// # Writing a layout plugin
//
//  1. Implement plugins.Layout in a package of its own (see plugins/crc32c):
//     Info is fixed; SegmentName and ParseName are exact inverses and reject
//     every foreign file; Scan reads each byte it needs once, never past the
//     file's size, reports only data that validates, and treats an invalid
//     record as the end of the data; it must be safe for concurrent calls.
//     Return errors wrapping fs.ErrNotExist, plugins.ErrCorrupt or
//     plugins.ErrBadConfig where they apply: their meaning crosses the wire.
//  2. Write a main that reads its options (segment size at least), builds the
//     layout and calls Serve (or ServeWithLogger after logging its start with
//     NewPluginLogger). Never print to stdout. See
//     plugins/crc32c/cmd/hasidecar-layout-crc32c.
//  3. Test the layout in-process, and the binary once end to end through
//     plugins/external (build it in TestMain with go build -o).
//  4. Run the sidecar with --layout-plugin PATH on master and slave, with the
//     same options: the sidecars compare the Info the plugins report.
//
// A plugin call costs a round trip (a few hundred microseconds on a loaded
// host), paid once per tailer wake-up, not per byte: keep Scan coarse.
package shared
