package main

import (
	"crypto/x509"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/hasidecar/hasidecar/sidecar/sidecartest"
	"github.com/hasidecar/hasidecar/sidecar/tlsconf/tlstest"
)

// TestE2EVerifyOnlineTLSAndAllowList: the digest channel is the
// replication port, so its TLS and allow-list apply to verify --online: a
// client certificate of the master's CA verifies (exit 0); no TLS, or a
// certificate of another CA, cannot compare (exit 1); a master whose
// allow-list leaves 127.0.0.1 out refuses it (exit 1).
func TestE2EVerifyOnlineTLSAndAllowList(t *testing.T) {
	c := newCluster(t)
	end := c.writeCount(3000)
	vfCopy(t, c.mdir, c.sdir)
	pki := t.TempDir()
	ca := tlstest.NewCA(t, pki, "good")
	srvCert, srvKey := ca.Issue(t, pki, "master", []net.IP{net.ParseIP("127.0.0.1")}, x509.ExtKeyUsageServerAuth)
	cliCert, cliKey := ca.Issue(t, pki, "verifier", nil, x509.ExtKeyUsageClientAuth)
	badCert, badKey := tlstest.NewCA(t, pki, "other").Issue(t, pki, "intruder", nil, x509.ExtKeyUsageClientAuth)
	c.startMaster("--tls-cert", srvCert, "--tls-key", srvKey, "--tls-ca", ca.File, "--allow-slaves", "127.0.0.1")
	seg := []string{"--segment-size", e2eSegment}
	good := append([]string{"--tls-cert", cliCert, "--tls-key", cliKey, "--tls-ca", ca.File}, seg...)
	var d voDoc
	sidecartest.Eventually(t, 30*time.Second, "verify over TLS comparing every byte", func() bool {
		var code int
		code, d, _ = verifyOnline(t, c.addr, c.sdir, good...)
		return code == 0 && d.NotComparedSize == 0
	})
	if d.Verdict != "identical" || d.MatchedBytes != end {
		t.Fatalf("over TLS: %+v (end %d)", d, end)
	}
	for name, args := range map[string][]string{
		"no TLS":        seg,
		"another CA":    append([]string{"--tls-cert", badCert, "--tls-key", badKey, "--tls-ca", ca.File}, seg...),
		"no such files": append([]string{"--tls-cert", filepath.Join(pki, "nope"), "--tls-key", cliKey, "--tls-ca", ca.File}, seg...),
	} {
		if code, d, _ := verifyOnline(t, c.addr, c.sdir, args...); code != 1 || d.Verdict != "error" {
			t.Errorf("%s: exit %d, %+v; want exit 1", name, code, d)
		}
	}
	other := newCluster(t)
	other.mdir = c.mdir
	other.startMaster("--allow-slaves", "192.0.2.1", "--state-dir", filepath.Join(t.TempDir(), "state"))
	if code, d, _ := verifyOnline(t, other.addr, c.sdir, seg...); code != 1 || d.Verdict != "error" {
		t.Errorf("outside the allow-list: exit %d, %+v; want exit 1", code, d)
	}
}
