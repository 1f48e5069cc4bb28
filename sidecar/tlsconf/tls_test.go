package tlsconf

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// pki is the set of files one TLS test needs.
type pki struct {
	ca, serverCert, serverKey, goodCert, goodKey, badCert, badKey string
}

func newPKI(t *testing.T) pki {
	dir := t.TempDir()
	ca := newCA(t, dir, "good")
	other := newCA(t, dir, "other")
	loop := []net.IP{net.IPv4(127, 0, 0, 1)}
	var p pki
	p.ca = ca.file
	p.serverCert, p.serverKey = ca.issue(t, dir, "server", loop, x509.ExtKeyUsageServerAuth)
	p.goodCert, p.goodKey = ca.issue(t, dir, "slave", nil, x509.ExtKeyUsageClientAuth)
	p.badCert, p.badKey = other.issue(t, dir, "intruder", nil, x509.ExtKeyUsageClientAuth)
	return p
}

// echoServer accepts TLS connections, echoes one line per connection and
// reports each handshake's error on the returned channel.
func echoServer(t *testing.T, cfg *tls.Config) (string, <-chan error) {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 8)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			serveOne(c.(*tls.Conn), errs)
		}
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	return ln.Addr().String(), errs
}

func serveOne(c *tls.Conn, errs chan<- error) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	err := c.Handshake()
	errs <- err
	if err == nil {
		io.CopyN(c, c, 4)
	}
}

func TestMutualTLSGoodClient(t *testing.T) {
	p := newPKI(t)
	srv, err := ServerConfig(p.serverCert, p.serverKey, p.ca)
	if err != nil {
		t.Fatal(err)
	}
	addr, errs := echoServer(t, srv)
	cli, err := ClientConfig(p.goodCert, p.goodKey, p.ca, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	c, err := (&tls.Dialer{Config: cli}).DialContext(ctx, "tcp", addr)
	if err != nil {
		t.Fatalf("good client: %v", err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4)
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "ping" {
		t.Fatalf("echo = %q, %v", buf, err)
	}
	if err := <-errs; err != nil {
		t.Fatalf("server handshake: %v", err)
	}
	if v := c.(*tls.Conn).ConnectionState().Version; v != tls.VersionTLS13 {
		t.Fatalf("version %x, want TLS 1.3", v)
	}
}

func TestMutualTLSBadClientRefused(t *testing.T) {
	p := newPKI(t)
	srv, err := ServerConfig(p.serverCert, p.serverKey, p.ca)
	if err != nil {
		t.Fatal(err)
	}
	addr, errs := echoServer(t, srv)
	for _, tc := range []struct {
		name, cert, key string
		force           bool // present the cert even though the server's CA list excludes it
	}{
		{"other CA", p.badCert, p.badKey, false},
		{"other CA forced", p.badCert, p.badKey, true},
		{"no cert", "", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cli := clientFor(t, p, tc.cert, tc.key)
			if tc.force {
				c := cli.Certificates[0]
				cli.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &c, nil }
			}
			assertRefused(t, addr, cli)
			var cerr *tls.CertificateVerificationError
			err := <-errs
			if tc.force && !errors.As(err, &cerr) {
				t.Fatalf("server handshake error = %v, want a certificate verification error", err)
			}
			if err == nil {
				t.Fatal("server accepted the client")
			}
		})
	}
}

func clientFor(t *testing.T, p pki, cert, key string) *tls.Config {
	if cert == "" {
		pool := x509.NewCertPool()
		b, _ := os.ReadFile(p.ca)
		pool.AppendCertsFromPEM(b)
		return &tls.Config{MinVersion: tls.VersionTLS13, RootCAs: pool, ServerName: "127.0.0.1"}
	}
	cli, err := ClientConfig(cert, key, p.ca, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	return cli
}

// assertRefused dials and expects the session to fail: with TLS 1.3 the
// client's handshake may finish before the server has checked the client's
// certificate, so the refusal can show up on the first read instead.
func assertRefused(t *testing.T, addr string, cli *tls.Config) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	c, err := (&tls.Dialer{Config: cli}).DialContext(ctx, "tcp", addr)
	if err != nil {
		return
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	c.Write([]byte("ping"))
	if _, err := io.ReadFull(c, make([]byte, 4)); err == nil {
		t.Fatal("server answered a client it should have refused")
	}
}

func TestClientRejectsWrongServerName(t *testing.T) {
	p := newPKI(t)
	srv, _ := ServerConfig(p.serverCert, p.serverKey, p.ca)
	addr, _ := echoServer(t, srv)
	cli, err := ClientConfig(p.goodCert, p.goodKey, p.ca, "master.example")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	_, err = (&tls.Dialer{Config: cli}).DialContext(ctx, "tcp", addr)
	var herr x509.HostnameError
	if !errors.As(err, &herr) {
		t.Fatalf("dial = %v, want a host name error", err)
	}
}

func TestConfigFileErrors(t *testing.T) {
	p := newPKI(t)
	empty := filepath.Join(t.TempDir(), "empty.pem")
	os.WriteFile(empty, []byte("not pem\n"), 0o600)
	if _, err := ServerConfig(p.serverCert, p.serverKey, empty); !errors.Is(err, ErrNoCerts) {
		t.Fatalf("empty CA: %v", err)
	}
	if _, err := ClientConfig(p.goodCert, p.goodKey, "/nonexistent/ca.pem", ""); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing CA: %v", err)
	}
	if _, err := ServerConfig(p.serverCert, p.goodKey, p.ca); err == nil {
		t.Fatal("mismatched key pair accepted")
	}
}
