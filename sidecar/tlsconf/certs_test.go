package tlsconf

import (
	"crypto/x509"
	"net"
	"testing"

	"github.com/hasidecar/hasidecar/sidecar/tlsconf/tlstest"
)

// testCA wraps tlstest.CA for this package's tests.
type testCA struct {
	*tlstest.CA
	file string
}

func newCA(t *testing.T, dir, name string) *testCA {
	ca := tlstest.NewCA(t, dir, name)
	return &testCA{CA: ca, file: ca.File}
}

func (ca *testCA) issue(t *testing.T, dir, name string, ips []net.IP, usage x509.ExtKeyUsage) (string, string) {
	return ca.Issue(t, dir, name, ips, usage)
}
