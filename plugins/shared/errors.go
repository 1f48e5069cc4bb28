package shared

import (
	"errors"
	"io/fs"

	"github.com/hasidecar/hasidecar/plugins"
)

// Sentinel errors of the RPC client; test them with errors.Is.
var (
	// ErrTransport means the RPC layer failed: the plugin process died, the
	// connection broke, or the reply could not be decoded.
	ErrTransport = errors.New("shared: layout plugin RPC failed")
	// ErrTimeout means a call took longer than the client's timeout: the
	// plugin is hung. The call may still complete in the plugin.
	ErrTimeout = errors.New("shared: layout plugin call timed out")
)

// ErrKind says which well-known error a layout error wraps, so that its
// meaning survives the trip across the process boundary.
type ErrKind uint8

// Error kinds. Values are part of the wire protocol: never renumber.
const (
	KindNone       ErrKind = iota // no error
	KindOther                     // none of the below
	KindNotExist                  // fs.ErrNotExist
	KindPermission                // fs.ErrPermission
	KindCorrupt                   // plugins.ErrCorrupt
	KindBadConfig                 // plugins.ErrBadConfig
	KindRange                     // plugins.ErrRange
	KindNotSegment                // plugins.ErrNotSegment
)

// kinds maps kinds to their sentinel, in the order Encode tries them.
var kinds = []struct {
	kind ErrKind
	err  error
}{
	{KindNotExist, fs.ErrNotExist},
	{KindPermission, fs.ErrPermission},
	{KindCorrupt, plugins.ErrCorrupt},
	{KindBadConfig, plugins.ErrBadConfig},
	{KindRange, plugins.ErrRange},
	{KindNotSegment, plugins.ErrNotSegment},
}

// WireError is a layout error as it crosses the RPC boundary.
type WireError struct {
	Kind ErrKind
	Msg  string
}

// EncodeError turns a layout error into its wire form (KindNone for nil).
func EncodeError(err error) WireError {
	if err == nil {
		return WireError{}
	}
	for _, k := range kinds {
		if errors.Is(err, k.err) {
			return WireError{Kind: k.kind, Msg: err.Error()}
		}
	}
	return WireError{Kind: KindOther, Msg: err.Error()}
}

// Err rebuilds the error on the host side: nil for KindNone, otherwise a
// *RemoteError.
func (w WireError) Err() error {
	if w.Kind == KindNone {
		return nil
	}
	return &RemoteError{Kind: w.Kind, Msg: w.Msg}
}

// RemoteError is an error the plugin's layout returned. Its message is the
// plugin's, and it unwraps to the sentinel its kind names, so errors.Is works
// as if the layout ran in-process.
type RemoteError struct {
	Kind ErrKind
	Msg  string
}

func (e *RemoteError) Error() string { return e.Msg }

// Unwrap returns the sentinel of e.Kind, or nil for KindOther.
func (e *RemoteError) Unwrap() error {
	for _, k := range kinds {
		if k.kind == e.Kind {
			return k.err
		}
	}
	return nil
}
