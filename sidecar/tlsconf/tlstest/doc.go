// Package tlstest makes throw-away certificate authorities and leaf
// certificates for tests of mutual TLS (package tlsconf's and the end-to-end
// tests of the hasidecar command). Never use it outside tests.
package tlstest
