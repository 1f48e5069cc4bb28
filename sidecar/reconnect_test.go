package sidecar

import (
	"net"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/hasidecar/hasidecar/sidecar/faultproxy"
	"github.com/hasidecar/hasidecar/sidecar/sidecartest"
)

// A link that drops every few frames: each session moves the slave on, so
// every reconnect waits the shortest back-off, not one that doubles
// towards MaxBackoff.
func TestBackoffStartsOverAfterProgress(t *testing.T) {
	const (
		batch      = 4096
		minBackoff = 20 * time.Millisecond
		reconnects = 8
		lost       = "replication connection lost; reconnecting"
	)
	mdir, sdir := tempDirs(t)
	end := writeRecords(t, mdir, testSeg, 3000, 700) // ~2 MiB: far more than the cuts let through
	tm := startMaster(t, mdir, MasterConfig{Batch: batch})
	p, err := faultproxy.New(zaptest.NewLogger(t).Named("proxy"), tm.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	cut := int64(5 * (batch + 12)) // the hello reply and four whole frames, then a cut inside the fifth
	p.CutAfter(faultproxy.Down, cut)
	log, logs := observedLog(t)
	ts := startSlaveLog(t, sdir, SlaveConfig{Master: p.Addr(), MinBackoff: minBackoff, MaxBackoff: 2 * time.Second}, log)
	cuts := int64(0)
	sidecartest.Eventually(t, 20*time.Second, "reconnects after cuts", func() bool {
		if st := p.Stats(); st.Cuts > cuts { // CutAfter is one-shot: arm it again for the next session
			cuts = st.Cuts
			p.CutAfter(faultproxy.Down, cut)
		}
		return len(entriesWith(logs, lost)) >= reconnects
	})
	p.CutAfter(faultproxy.Down, -1)
	progressed, prev := 0, int64(0)
	for i, e := range entriesWith(logs, lost)[:reconnects] {
		endF, _ := fieldOf(e, "end_offset")
		bo, _ := fieldOf(e, "backoff")
		if endF.Integer > prev {
			progressed++
			if time.Duration(bo.Integer) != minBackoff {
				t.Fatalf("reconnect %d after a session that moved the end %d -> %d: back-off %v, want %v",
					i, prev, endF.Integer, time.Duration(bo.Integer), minBackoff)
			}
		}
		prev = endF.Integer
	}
	if progressed < reconnects/2 {
		t.Fatalf("only %d of %d sessions moved the slave on; the cut is too early to test", progressed, reconnects)
	}
	sidecartest.Eventually(t, 20*time.Second, "the slave at the master's end", func() bool { return ts.s.End() == end })
}

// A connection the slave ends is logged as the slave's doing, with its read
// error, not as the master's shutdown; one the shutdown ends is.
func TestSlaveEndedConnectionIsNotShutdown(t *testing.T) {
	const shutdown = "slave connection closed on shutdown"
	mdir, _ := tempDirs(t)
	writeRecords(t, mdir, testSeg, 10, 100) // one frame
	log, logs := observedLog(t)
	tm := startMasterLog(t, mdir, MasterConfig{}, log)

	closer := dialRaw(t, tm.addr)
	closer.report(0)
	firstFrame(t, closer)
	closer.conn.Close() // nothing unread: a FIN, the master reads EOF
	sidecartest.Eventually(t, 5*time.Second, "the master to log the slave's close", func() bool {
		return len(entriesWith(logs, "slave closed the connection")) == 1
	})

	resetter := dialRaw(t, tm.addr)
	resetter.report(0)
	firstFrame(t, resetter)
	resetter.conn.(*net.TCPConn).SetLinger(0) // close with a reset
	resetter.conn.Close()
	sidecartest.Eventually(t, 5*time.Second, "the master to log the reset", func() bool {
		return len(entriesWith(logs, "slave connection closed")) == 1
	})
	if f, ok := fieldOf(entriesWith(logs, "slave connection closed")[0], "read_error"); !ok || f.Interface == nil {
		t.Fatal("reset connection logged without its read error")
	}
	if n := len(entriesWith(logs, shutdown)); n != 0 {
		t.Fatalf("%d connections the slave ended logged as %q", n, shutdown)
	}

	streaming := dialRaw(t, tm.addr)
	streaming.report(0)
	firstFrame(t, streaming)
	tm.stop()
	if n := len(entriesWith(logs, shutdown)); n != 1 {
		t.Fatalf("%d connections logged as %q after the master stopped, want 1", n, shutdown)
	}
}
