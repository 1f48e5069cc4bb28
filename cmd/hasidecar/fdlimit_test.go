package main

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hasidecar/hasidecar/sidecar/ack"
	"github.com/hasidecar/hasidecar/sidecar/ackclient"
	"github.com/hasidecar/hasidecar/sidecar/sidecartest"
)

// fdLimit is the master's RLIMIT_NOFILE in TestE2EMasterSurvivesFDExhaustion;
// fdConns ack-socket connections are more than it can hold.
const (
	fdLimit = 256
	fdConns = 400
)

// TestE2EMasterSurvivesFDExhaustion runs the master with a low descriptor
// limit, opens more ack-socket connections than it can accept, and checks
// that the master logs the exhaustion on the ack socket and then on the HA
// port, stays up, and serves both once the connections are gone.
func TestE2EMasterSurvivesFDExhaustion(t *testing.T) {
	c := newCluster(t)
	out, code := runBin(t, "write", "--dir", c.mdir, "--segment-size", e2eSegment, "--count", "200", "--log-level", "warn")
	var n, end int64
	if _, err := fmt.Sscanf(out, "wrote %d messages, end offset %d,", &n, &end); code != 0 || err != nil {
		t.Fatalf("write exit %d (%v):\n%s", code, err, out)
	}
	c.master = startLimited(t, "master", fdLimit, "master", "--dir", c.mdir, "--listen", c.addr,
		"--segment-size", e2eSegment, "--ack-socket", c.sock, "--heartbeat", "500ms", "--housekeeping", "5s")
	sidecartest.Eventually(t, 20*time.Second, "master ack socket", func() bool { return query(t, c.sock) != nil })

	conns := make([]net.Conn, 0, fdConns)
	defer func() {
		for _, cn := range conns {
			cn.Close()
		}
	}()
	for range fdConns {
		cn, err := net.DialTimeout("unix", c.sock, 5*time.Second)
		if err != nil {
			c.master.wait(10 * time.Second) // an exited master removed its socket
			t.Fatalf("ack connection %d: %v; master exited: %v", len(conns), err, c.master.err)
		}
		conns = append(conns, cn)
		// A preamble keeps the connection open past the server's 5 s
		// handshake timeout; those in the backlog get it read later.
		if _, err := cn.Write(ack.AppendPreamble(nil, ack.Version, 0)); err != nil {
			t.Fatalf("ack connection %d preamble: %v", len(conns), err)
		}
	}
	sidecartest.Eventually(t, 20*time.Second, "the master to report descriptor exhaustion (or exit)", func() bool {
		return strings.Contains(c.master.out.String(), "out of file descriptors") || c.master.exited()
	})
	if c.master.exited() {
		t.Fatalf("master exited under descriptor exhaustion: %v", c.master.err)
	}
	// The HA port's accept loop meets the same exhaustion.
	ha, err := net.DialTimeout("tcp", c.addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial the HA port: %v", err)
	}
	conns = append(conns, ha)
	sidecartest.Eventually(t, 20*time.Second, "the HA port to report descriptor exhaustion (or exit)", func() bool {
		return strings.Contains(c.master.out.String(), `"listener": "HA port"`) || c.master.exited()
	})
	if c.master.exited() {
		t.Fatalf("master exited under descriptor exhaustion on the HA port: %v", c.master.err)
	}
	for _, cn := range conns {
		cn.Close()
	}
	conns = conns[:0]

	c.startSlave()
	c.waitAcked(end)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	cl, err := ackclient.Dial(ctx, c.sock)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if r, err := cl.Wait(ctx, end); err != nil || r.Status != ack.OK || r.Acked < end {
		t.Fatalf("WAIT %d after exhaustion: %+v %v", end, r, err)
	}
	if c.master.exited() {
		t.Fatalf("master exited: %v", c.master.err)
	}
	if !strings.Contains(c.master.out.String(), "accept recovered") {
		t.Errorf("no recovery line in the master's log")
	}
}

// startLimited runs the binary with RLIMIT_NOFILE lowered to n (soft and
// hard, so the Go runtime cannot raise it back) by a shell that then execs it.
func startLimited(t *testing.T, name string, n int, args ...string) *proc {
	t.Helper()
	sh := []string{"-c", `ulimit -n "$1" && shift && exec "$0" "$@"`, binPath, strconv.Itoa(n)}
	return startCmd(t, name, exec.Command("sh", append(sh, args...)...))
}

// exited reports whether the process has ended; p.err is then set.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}
