package ack

import (
	"fmt"
	"strconv"
	"strings"
)

// PolicyKind says how the acknowledgements of several slaves combine.
type PolicyKind uint8

const (
	// Any: one connected slave holding the bytes is enough (RocketMQ 4.x).
	Any PolicyKind = iota + 1
	// All: every connected slave must hold the bytes (at least one connected).
	All
	// Quorum: N connected slaves must hold the bytes.
	Quorum
)

// Policy is an ack policy: Any, All, or Quorum with N >= 1.
type Policy struct {
	Kind PolicyKind
	N    int // only for Quorum
}

// maxQuorum bounds N so the wire's uint16 and any sane deployment hold it.
const maxQuorum = 1000

// ParsePolicy parses "any", "all" or "quorum=N".
func ParsePolicy(s string) (Policy, error) {
	switch v := strings.ToLower(strings.TrimSpace(s)); {
	case v == "any":
		return Policy{Kind: Any}, nil
	case v == "all":
		return Policy{Kind: All}, nil
	case strings.HasPrefix(v, "quorum="):
		n, err := strconv.Atoi(strings.TrimPrefix(v, "quorum="))
		if err != nil || n < 1 || n > maxQuorum {
			return Policy{}, fmt.Errorf("parse policy %q: N must be 1..%d: %w", s, maxQuorum, ErrBadPolicy)
		}
		return Policy{Kind: Quorum, N: n}, nil
	}
	return Policy{}, fmt.Errorf("parse policy %q: want any, all or quorum=N: %w", s, ErrBadPolicy)
}

// String renders the policy in the form ParsePolicy accepts.
func (p Policy) String() string {
	switch p.Kind {
	case Any:
		return "any"
	case All:
		return "all"
	case Quorum:
		return "quorum=" + strconv.Itoa(p.N)
	}
	return "invalid"
}

// MarshalText lets the policy appear as its string in JSON.
func (p Policy) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// UnmarshalText parses the policy's string form.
func (p *Policy) UnmarshalText(b []byte) error {
	v, err := ParsePolicy(string(b))
	if err != nil {
		return err
	}
	*p = v
	return nil
}

// need is how many connected slaves the policy requires before a commit
// can be acknowledged at all.
func (p Policy) need() int {
	if p.Kind == Quorum {
		return p.N
	}
	return 1
}
