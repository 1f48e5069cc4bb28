package tlsconf

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"

	"go.uber.org/zap"
)

// AllowList is a set of IP prefixes. The zero value and nil allow all.
type AllowList struct {
	prefixes []netip.Prefix
}

// ParseAllowList parses "10.0.0.0/8,192.168.1.5,::1". The empty string
// (or only spaces) returns a list that allows every address.
func ParseAllowList(s string) (*AllowList, error) {
	a := &AllowList{}
	for item := range strings.SplitSeq(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		p, err := parseEntry(item)
		if err != nil {
			return nil, fmt.Errorf("parse allow-list entry %q: %w", item, ErrBadAllowList)
		}
		a.prefixes = append(a.prefixes, p)
	}
	return a, nil
}

func parseEntry(item string) (netip.Prefix, error) {
	if strings.Contains(item, "/") {
		p, err := netip.ParsePrefix(item)
		if err != nil {
			return netip.Prefix{}, err
		}
		return p.Masked(), nil
	}
	ip, err := netip.ParseAddr(item)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(ip, ip.BitLen()), nil
}

// Empty reports whether the list allows every address.
func (a *AllowList) Empty() bool { return a == nil || len(a.prefixes) == 0 }

// String renders the list in the syntax ParseAllowList accepts.
func (a *AllowList) String() string {
	if a.Empty() {
		return ""
	}
	s := make([]string, len(a.prefixes))
	for i, p := range a.prefixes {
		s[i] = p.String()
	}
	return strings.Join(s, ",")
}

// Allowed reports whether addr's IP is in the list. An address that is not
// IP-based (a Unix socket) is allowed only by an empty list.
func (a *AllowList) Allowed(addr net.Addr) bool {
	if a.Empty() {
		return true
	}
	ip, ok := addrIP(addr)
	if !ok {
		return false
	}
	for _, p := range a.prefixes {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// addrIP extracts the peer's IP, with IPv4-mapped IPv6 unmapped so that a
// dual-stack listener's peers match IPv4 entries. Zones are dropped.
func addrIP(addr net.Addr) (netip.Addr, bool) {
	var ip net.IP
	switch v := addr.(type) {
	case *net.TCPAddr:
		ip = v.IP
	case *net.UDPAddr:
		ip = v.IP
	case *net.IPAddr:
		ip = v.IP
	default:
		if addr == nil {
			return netip.Addr{}, false
		}
		ap, err := netip.ParseAddrPort(addr.String())
		if err != nil {
			return netip.Addr{}, false
		}
		return ap.Addr().Unmap().WithZone(""), true
	}
	nip, ok := netip.AddrFromSlice(ip)
	return nip.Unmap(), ok
}

// allowListener closes connections from addresses not in the list.
type allowListener struct {
	net.Listener
	log      *zap.Logger
	allow    *AllowList
	onRefuse func()
}

// AllowListener wraps ln so that Accept returns only connections from
// addresses in a; it closes the others at once, logs them with their
// remote_addr, calls onRefuse (if not nil; e.g. to count them) and keeps
// accepting. Errors from ln.Accept are returned unchanged, so the caller's
// accept loop and its shutdown check (net.ErrClosed) work as before. An
// empty list returns ln itself.
func AllowListener(log *zap.Logger, ln net.Listener, a *AllowList, onRefuse func()) net.Listener {
	if a.Empty() {
		return ln
	}
	if log == nil {
		log = zap.NewNop()
	}
	return &allowListener{Listener: ln, log: log, allow: a, onRefuse: onRefuse}
}

// Accept loops until an allowed connection or an error arrives. A refused
// connection is closed before any byte is read, so a stranger learns only
// that the port is open.
func (l *allowListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if l.allow.Allowed(c.RemoteAddr()) {
			return c, nil
		}
		l.log.Warn("connection refused by allow-list",
			zap.Stringer("remote_addr", c.RemoteAddr()),
			zap.Stringer("local_addr", c.LocalAddr()))
		// Count before closing, so a peer that sees the close can rely on
		// the count already including it.
		if l.onRefuse != nil {
			l.onRefuse()
		}
		if cerr := c.Close(); cerr != nil && !errors.Is(cerr, net.ErrClosed) {
			l.log.Debug("close refused connection", zap.Error(cerr))
		}
	}
}
