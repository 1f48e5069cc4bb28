package tlsconf

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
)

// ServerConfig returns the master's TLS config: it presents the certificate
// in certFile/keyFile and requires every client to present a certificate
// that chains to a CA in clientCAFile. TLS 1.3 only: both ends are
// hasidecar, so there is no older peer to accommodate.
func ServerConfig(certFile, keyFile, clientCAFile string) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("load key pair %s: %w", certFile, err)
	}
	pool, err := loadPool(clientCAFile)
	if err != nil {
		return nil, err
	}
	return &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{cert},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    pool,
	}, nil
}

// ClientConfig returns the slave's TLS config: it presents the certificate
// in certFile/keyFile and accepts only a master whose certificate chains to
// a CA in caFile and is valid for serverName (a host name or an IP address,
// as in the master's certificate SANs). An empty serverName makes the caller
// responsible for setting it (tls.Dial derives it from the address).
func ClientConfig(certFile, keyFile, caFile, serverName string) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("load key pair %s: %w", certFile, err)
	}
	pool, err := loadPool(caFile)
	if err != nil {
		return nil, err
	}
	return &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{cert},
		RootCAs:      pool,
		ServerName:   serverName,
	}, nil
}

// loadPool reads a PEM bundle into a fresh pool, never the system roots:
// the HA link trusts only the operator's own CA.
func loadPool(file string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("read CA file %s: %w", file, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("read CA file %s: %w", file, ErrNoCerts)
	}
	return pool, nil
}
