package role

import (
	"crypto/tls"
	"fmt"
	"net"

	"github.com/hasidecar/hasidecar/sidecar"
	"github.com/hasidecar/hasidecar/sidecar/config"
	"github.com/hasidecar/hasidecar/sidecar/meta"
	"github.com/hasidecar/hasidecar/sidecar/tlsconf"
)

// listener opens the HA port with the allow-list and TLS, if configured.
func (r *Master) listener() (net.Listener, error) {
	allow, err := tlsconf.ParseAllowList(r.cfg.AllowSlavesText)
	if err != nil {
		return nil, fmt.Errorf("master configuration: %w", &config.FieldError{Name: "allow-slaves", Value: r.cfg.AllowSlavesText, Err: err})
	}
	tc, err := serverTLS(r.cfg.Service)
	if err != nil {
		return nil, fmt.Errorf("master TLS: %w", err)
	}
	ln, err := net.Listen("tcp", r.cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("listen for slaves: %w", err)
	}
	ln = tlsconf.AllowListener(r.log.Named("allow"), ln, allow, nil)
	if tc != nil {
		r.log.Info("mutual TLS on the HA port: RocketMQ slaves cannot connect")
		ln = tls.NewListener(ln, tc)
	}
	return ln, nil
}

// metaServer builds the metadata mirror's server, or nil when off.
func (r *Master) metaServer() sidecar.MetaServer {
	m := r.cfg.Meta
	if m.Dir == "" {
		return nil
	}
	// A metadata connection idle for the housekeeping interval is closed, as
	// a silent slave is, so that it gives its slot back.
	return meta.NewServer(r.log.Named("meta"), meta.ServerOptions{Dir: m.Dir, Include: m.Include, MaxFileSize: m.MaxFileSize,
		IdleTimeout: r.cfg.Housekeeping})
}
