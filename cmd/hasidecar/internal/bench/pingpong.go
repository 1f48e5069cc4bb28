package bench

import (
	"context"
	"io"
	"net"
	"os"
	"time"

	"github.com/hasidecar/hasidecar/cmd/hasidecar/internal/loadgen"
)

// pingPong measures n round trips of 8 bytes over a loopback connection
// of network ("tcp" on 127.0.0.1, or "unix" at the path addr) to an echo
// in this process: the floor of any request and answer on this machine.
func pingPong(ctx context.Context, network, addr string, n int) (*loadgen.Latencies, error) {
	if network == "unix" {
		os.Remove(addr)
	}
	ln, err := net.Listen(network, addr)
	if err != nil {
		return nil, err
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		io.Copy(c, c)
	}()
	var dl net.Dialer
	conn, err := dl.DialContext(ctx, network, ln.Addr().String())
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	l := &loadgen.Latencies{}
	buf := make([]byte, 8)
	for range n {
		t0 := time.Now()
		if _, err := conn.Write(buf); err != nil {
			return nil, err
		}
		if _, err := io.ReadFull(conn, buf); err != nil {
			return nil, err
		}
		l.Add(time.Since(t0), "OK")
	}
	return l, nil
}
