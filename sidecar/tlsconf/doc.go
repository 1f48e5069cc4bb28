// Package tlsconf builds the transport-security pieces of the HA link.
//
// Mutual TLS (ServerConfig for the master, ClientConfig for the slave) wraps
// the classic protocol in TLS 1.3 with certificates on both sides: the master
// accepts only slaves whose certificate chains to the client CA, the slave
// accepts only a master whose certificate chains to its CA and names the
// expected host. It is NOT compatible with RocketMQ, whose HA link is plain
// TCP, so it is off by default and only for sidecar-to-sidecar links.
//
// For the plain protocol, an AllowList of slave addresses (IPs and CIDRs)
// wraps the master's listener: connections from other addresses are closed
// at once, before a byte is read or written, and logged with their
// remote_addr. It is a filter on the peer's IP, not authentication: anyone
// who can use an allowed address can still connect.
//
// Allow-list syntax: a comma-separated list of IP addresses ("192.168.1.5",
// "::1") and CIDR prefixes ("10.0.0.0/8", "fd00::/8"); spaces around items
// are ignored; the empty string allows every address. IPv4-mapped IPv6
// peers (::ffff:a.b.c.d) match IPv4 entries.
package tlsconf
