package main

import (
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/hasidecar/hasidecar/cmd/hasidecar/internal/loadgen"
	"github.com/hasidecar/hasidecar/sidecar/sidecartest"
	"github.com/hasidecar/hasidecar/sidecar/tlsconf/tlstest"
)

// scrape fetches and parses a /metrics page; nil if it is not up.
func scrape(t *testing.T, addr string) map[string]*dto.MetricFamily {
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get("http://" + addr + "/metrics")
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse metrics: %v", err)
	}
	return fams
}

func gauge(fams map[string]*dto.MetricFamily, name string) (float64, bool) {
	f, ok := fams[name]
	if !ok || len(f.Metric) == 0 {
		return 0, false
	}
	m := f.Metric[0]
	switch {
	case m.Gauge != nil:
		return m.Gauge.GetValue(), true
	case m.Counter != nil:
		return m.Counter.GetValue(), true
	}
	return 0, false
}

func TestE2EMetricsAndHealth(t *testing.T) {
	c := newCluster(t)
	mm, sm := freeAddr(t), freeAddr(t)
	c.startMaster("--metrics-listen", mm)
	c.startSlave("--metrics-listen", sm)
	c.startWriter(3000, time.Second)
	end := c.finishKeepSlave()
	sidecartest.Eventually(t, 10*time.Second, "master metrics at the end", func() bool {
		f := scrape(t, mm)
		v, ok := gauge(f, "hasidecar_master_end_offset")
		a, ok2 := gauge(f, "hasidecar_slave_acked_offset")
		return ok && ok2 && int64(v) == end && int64(a) == end
	})
	sidecartest.Eventually(t, 10*time.Second, "slave metrics at the end", func() bool {
		v, ok := gauge(scrape(t, sm), "hasidecar_slave_written_offset")
		return ok && int64(v) == end
	})
	resp, err := http.Get("http://" + sm + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("healthz %d %s", resp.StatusCode, body)
	}
}

// finishKeepSlave waits for the writer and the slave's acknowledgement of
// its end, leaving everything running.
func (c *cluster) finishKeepSlave() int64 {
	c.t.Helper()
	if err := c.writer.wait(60 * time.Second); err != nil {
		c.t.Fatalf("writer: %v", err)
	}
	m := loadgen.EndPattern.FindStringSubmatch(c.writer.out.String())
	if m == nil {
		c.t.Fatal("writer printed no end offset")
	}
	end := mustInt(c.t, m[1])
	c.waitAcked(end)
	return end
}

func TestE2EReloadOnSIGHUP(t *testing.T) {
	c := newCluster(t)
	cfg := filepath.Join(c.dir, "master.toml")
	write := func(policy string) {
		doc := "role = \"master\"\n[master]\nack-policy = \"" + policy + "\"\nlog-level = \"info\"\n"
		if err := os.WriteFile(cfg, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("any")
	c.startMaster("--config", cfg)
	sidecartest.Eventually(t, 5*time.Second, "policy any", func() bool { s := query(t, c.sock); return s != nil && s.Policy.String() == "any" })
	write("quorum=2")
	c.master.cmd.Process.Signal(syscall.SIGHUP)
	sidecartest.Eventually(t, 5*time.Second, "policy quorum=2 after SIGHUP", func() bool {
		s := query(t, c.sock)
		return s != nil && s.Policy.String() == "quorum=2"
	})
	// The policy is applied, then logged: wait for the line as well.
	sidecartest.Eventually(t, 5*time.Second, "the reload log line", func() bool { return strings.Contains(c.master.out.String(), "reloaded") })
	write("quorum=zero") // refused: the running policy stays
	c.master.cmd.Process.Signal(syscall.SIGHUP)
	sidecartest.Eventually(t, 5*time.Second, "refused reload logged", func() bool { return strings.Contains(c.master.out.String(), "refused") })
	if s := query(t, c.sock); s == nil || s.Policy.String() != "quorum=2" {
		t.Fatalf("policy changed by a bad reload: %+v", s)
	}
}

func TestE2EMutualTLSAndAllowList(t *testing.T) {
	c := newCluster(t)
	pki := t.TempDir()
	ca := tlstest.NewCA(t, pki, "good")
	srvCert, srvKey := ca.Issue(t, pki, "master", []net.IP{net.ParseIP("127.0.0.1")}, x509.ExtKeyUsageServerAuth)
	cliCert, cliKey := ca.Issue(t, pki, "slave", nil, x509.ExtKeyUsageClientAuth)
	other := tlstest.NewCA(t, pki, "other")
	badCert, badKey := other.Issue(t, pki, "intruder", nil, x509.ExtKeyUsageClientAuth)
	c.startMaster("--tls-cert", srvCert, "--tls-key", srvKey, "--tls-ca", ca.File, "--allow-slaves", "127.0.0.1")
	// A slave with a certificate from another CA is refused and writes nothing.
	bad := start(t, "bad-slave", "slave", "--dir", filepath.Join(c.dir, "bad"), "--master", c.addr, "--segment-size", e2eSegment,
		"--tls-cert", badCert, "--tls-key", badKey, "--tls-ca", ca.File, "--max-backoff", "200ms")
	sidecartest.Eventually(t, 10*time.Second, "bad certificate refused", func() bool { return strings.Contains(bad.out.String(), "certificate required") })
	bad.kill()
	c.startSlave("--tls-cert", cliCert, "--tls-key", cliKey, "--tls-ca", ca.File)
	c.startWriter(3000, time.Second)
	c.finish()
}

func TestE2EAllowListRefuses(t *testing.T) {
	c := newCluster(t)
	c.startMaster("--allow-slaves", "127.0.0.2")
	c.startSlave()
	sidecartest.Eventually(t, 10*time.Second, "refusal logged", func() bool {
		return strings.Contains(c.master.out.String(), "127.0.0.1") &&
			strings.Contains(strings.ToLower(c.master.out.String()), "refus")
	})
	if s := query(t, c.sock); s == nil || len(s.Slaves) != 0 {
		t.Fatalf("refused slave is connected: %+v", s)
	}
}

func TestE2ESystemdNotify(t *testing.T) {
	dir := t.TempDir()
	sockPath := filepath.Join(dir, "notify.sock")
	ln, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sockPath, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	t.Setenv("NOTIFY_SOCKET", sockPath)
	p := start(t, "master", "master", "--dir", filepath.Join(dir, "m"), "--listen", freeAddr(t))
	readNotify(t, ln, "READY=1") // fails the test unless it arrives
	if err := p.stop(); err != nil {
		t.Fatalf("master exit: %v", err)
	}
	readNotify(t, ln, "STOPPING=1")
}

// readNotify reads datagrams until one contains want.
func readNotify(t *testing.T, ln *net.UnixConn, want string) string {
	var all strings.Builder
	buf := make([]byte, 4096)
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		ln.SetReadDeadline(deadline)
		n, err := ln.Read(buf)
		if err != nil {
			break
		}
		all.Write(buf[:n])
		all.WriteByte('\n')
		if strings.Contains(string(buf[:n]), want) {
			return all.String()
		}
	}
	t.Fatalf("no %s notification; got %q", want, all.String())
	return ""
}
