package tlsconf

import "errors"

var (
	// ErrBadAllowList means an allow-list entry is neither an IP nor a CIDR.
	ErrBadAllowList = errors.New("tlsconf: invalid allow-list entry")
	// ErrNoCerts means a CA file holds no PEM certificate.
	ErrNoCerts = errors.New("tlsconf: no certificate in CA file")
)
