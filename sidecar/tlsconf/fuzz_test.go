package tlsconf

import (
	"net"
	"testing"
)

// FuzzParseAllowList: any string either fails with ErrBadAllowList or
// yields a list whose String() parses back to the same list.
func FuzzParseAllowList(f *testing.F) {
	for _, s := range []string{"", "10.0.0.0/8,192.168.1.5,::1", " fd00::/8 ,", "1.2.3.4/33", "::ffff:1.2.3.4", "fe80::1%eth0", ",,,"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseAllowList(s)
		if err != nil {
			return
		}
		b, err := ParseAllowList(a.String())
		if err != nil || b.String() != a.String() {
			t.Fatalf("round trip of %q: %q -> %v, %v", s, a.String(), b, err)
		}
		a.Allowed(&net.TCPAddr{IP: net.IPv4(10, 0, 0, 1), Port: 1})
	})
}
