package shared

import (
	"fmt"
	"net/rpc"
	"time"

	"github.com/hasidecar/hasidecar/plugins"
)

// InfoReply is the reply of Info.
type InfoReply struct{ Info plugins.Info }

// ParseReply is the reply of ParseName.
type ParseReply struct {
	Start int64
	OK    bool
}

// ScanArgs are the arguments of Scan.
type ScanArgs struct {
	Path        string
	Start, From int64
}

// ScanReply is the reply of Scan.
type ScanReply struct {
	Scan plugins.Scan
	Err  WireError
}

// BoundaryArgs are the arguments of IsBoundary.
type BoundaryArgs struct {
	Path       string
	Start, Off int64
}

// BoundaryReply is the reply of IsBoundary.
type BoundaryReply struct {
	OK  bool
	Err WireError
}

// LayoutRPCServer serves a plugins.Layout over net/rpc (plugin side). Its
// methods never return an RPC error: layout errors travel in the replies.
type LayoutRPCServer struct {
	Impl plugins.Layout
}

// Info serves plugins.Layout.Info.
func (s *LayoutRPCServer) Info(_ struct{}, r *InfoReply) error {
	r.Info = s.Impl.Info()
	return nil
}

// SegmentName serves plugins.Layout.SegmentName.
func (s *LayoutRPCServer) SegmentName(start int64, r *string) error {
	*r = s.Impl.SegmentName(start)
	return nil
}

// ParseName serves plugins.Layout.ParseName.
func (s *LayoutRPCServer) ParseName(name string, r *ParseReply) error {
	r.Start, r.OK = s.Impl.ParseName(name)
	return nil
}

// Scan serves plugins.Layout.Scan.
func (s *LayoutRPCServer) Scan(a ScanArgs, r *ScanReply) error {
	sc, err := s.Impl.Scan(a.Path, a.Start, a.From)
	r.Scan, r.Err = sc, EncodeError(err)
	return nil
}

// IsBoundary serves plugins.Layout.IsBoundary.
func (s *LayoutRPCServer) IsBoundary(a BoundaryArgs, r *BoundaryReply) error {
	ok, err := s.Impl.IsBoundary(a.Path, a.Start, a.Off)
	r.OK, r.Err = ok, EncodeError(err)
	return nil
}

// LayoutRPC is the host side of a layout plugin. It implements
// plugins.Layout; the methods of that interface that cannot return an error
// (Info, SegmentName, ParseName) return zero values when the call fails, so
// hosts that must tell failure apart use Describe, Name and Parse.
type LayoutRPC struct {
	client  *rpc.Client
	timeout time.Duration
}

var _ plugins.Layout = (*LayoutRPC)(nil)

// WithTimeout returns a LayoutRPC on the same connection whose calls fail
// with ErrTimeout after d (0: wait forever).
func (c *LayoutRPC) WithTimeout(d time.Duration) *LayoutRPC {
	return &LayoutRPC{client: c.client, timeout: d}
}

// call runs one RPC, bounded by the timeout.
func (c *LayoutRPC) call(method string, args, reply any) error {
	call := c.client.Go("Plugin."+method, args, reply, make(chan *rpc.Call, 1))
	var expired <-chan time.Time
	if c.timeout > 0 {
		t := time.NewTimer(c.timeout)
		defer t.Stop()
		expired = t.C
	}
	select {
	case <-call.Done:
		if call.Error != nil {
			return fmt.Errorf("call layout plugin %s: %w: %w", method, ErrTransport, call.Error)
		}
		return nil
	case <-expired:
		// The call stays pending in the rpc.Client until the connection
		// closes; the host kills a hung plugin, which ends it.
		return fmt.Errorf("call layout plugin %s: no reply after %s: %w", method, c.timeout, ErrTimeout)
	}
}

// Describe returns the plugin's Info, or the call's error.
func (c *LayoutRPC) Describe() (plugins.Info, error) {
	var r InfoReply
	err := c.call("Info", struct{}{}, &r)
	return r.Info, err
}

// Name returns the plugin's SegmentName(start), or the call's error.
func (c *LayoutRPC) Name(start int64) (string, error) {
	var r string
	err := c.call("SegmentName", start, &r)
	return r, err
}

// Parse returns the plugin's ParseName(name), or the call's error.
func (c *LayoutRPC) Parse(name string) (int64, bool, error) {
	var r ParseReply
	err := c.call("ParseName", name, &r)
	return r.Start, r.OK && err == nil, err
}

// Info implements plugins.Layout; the zero Info on failure (see Describe).
func (c *LayoutRPC) Info() plugins.Info {
	info, _ := c.Describe()
	return info
}

// SegmentName implements plugins.Layout; "" on failure (see Name).
func (c *LayoutRPC) SegmentName(start int64) string {
	name, _ := c.Name(start)
	return name
}

// ParseName implements plugins.Layout; false on failure (see Parse).
func (c *LayoutRPC) ParseName(name string) (int64, bool) {
	start, ok, _ := c.Parse(name)
	return start, ok
}

// Scan implements plugins.Layout.
func (c *LayoutRPC) Scan(path string, start, from int64) (plugins.Scan, error) {
	var r ScanReply
	if err := c.call("Scan", ScanArgs{Path: path, Start: start, From: from}, &r); err != nil {
		return plugins.Scan{}, err
	}
	return r.Scan, r.Err.Err()
}

// IsBoundary implements plugins.Layout.
func (c *LayoutRPC) IsBoundary(path string, start, off int64) (bool, error) {
	var r BoundaryReply
	if err := c.call("IsBoundary", BoundaryArgs{Path: path, Start: start, Off: off}, &r); err != nil {
		return false, err
	}
	return r.OK, r.Err.Err()
}
