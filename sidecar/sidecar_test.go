package sidecar

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"
	"go.uber.org/zap/zaptest/observer"

	"github.com/hasidecar/hasidecar/sidecar/ack"
	"github.com/hasidecar/hasidecar/sidecar/haproto"
	"github.com/hasidecar/hasidecar/sidecar/sidecartest"
	"github.com/hasidecar/hasidecar/sidecar/verify"
	"github.com/hasidecar/hasidecar/tailer"
)

func TestReplicatesExistingAndLiveData(t *testing.T) {
	mdir, sdir := tempDirs(t)
	writeRecords(t, mdir, testSeg, 3000, 700) // ~2.3 segments
	tm := startMaster(t, mdir, MasterConfig{})
	ts := startSlave(t, sdir, testSeg, SlaveConfig{Master: tm.addr})
	end := writeRecords(t, mdir, testSeg, 2000, 300) // live appends continue the same directory
	sidecartest.Eventually(t, 10*time.Second, "slave at the master's end", func() bool { return ts.s.End() == end })
	ts.stop()
	rep, err := verify.Dirs(testLayout(t, testSeg), mdir, sdir, verify.Options{Exact: true})
	if err != nil || !rep.Equal() {
		t.Fatalf("verify: %v %+v", err, rep)
	}
}

// rawSlave is a hand-driven slave connection for protocol tests.
type rawSlave struct {
	t    *testing.T
	conn net.Conn
}

func dialRaw(t *testing.T, addr string) *rawSlave {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &rawSlave{t: t, conn: c}
}

func (r *rawSlave) report(off int64) {
	var b [8]byte
	haproto.PutReport(b[:], off)
	if _, err := r.conn.Write(b[:]); err != nil {
		r.t.Fatal(err)
	}
}

// frame reads one frame; ok is false when the master closed the connection.
func (r *rawSlave) frame() (haproto.Header, []byte, bool) {
	r.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	var hdr [haproto.HeaderSize]byte
	if _, err := io.ReadFull(r.conn, hdr[:]); err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			r.t.Fatal("no frame and no close within 5s")
		}
		return haproto.Header{}, nil, false
	}
	h, err := haproto.ParseHeader(hdr[:], haproto.MaxBody)
	if err != nil {
		r.t.Fatal(err)
	}
	body := make([]byte, h.Size)
	if _, err := io.ReadFull(r.conn, body); err != nil {
		return h, nil, false
	}
	return h, body, true
}

// closed drains frames until the master closes the connection.
func (r *rawSlave) closed() bool {
	for {
		if _, _, ok := r.frame(); !ok {
			return true
		}
	}
}

func TestMasterFramesAndHeartbeats(t *testing.T) {
	mdir, _ := tempDirs(t)
	end := writeRecords(t, mdir, testSeg, 2000, 1000) // ~2 segments
	tm := startMaster(t, mdir, MasterConfig{Heartbeat: 100 * time.Millisecond, Batch: 10000})
	r := dialRaw(t, tm.addr)
	r.report(0)
	src := readAll(t, mdir)
	pos := int64(0)
	for pos < end {
		h, body, ok := r.frame()
		if !ok {
			t.Fatal("master closed the connection")
		}
		if h.Offset != pos || len(body) > 10000 || h.Size == 0 {
			t.Fatalf("frame at %d size %d, want offset %d and 0 < size <= batch", h.Offset, h.Size, pos)
		}
		if pos/testSeg != (pos+int64(len(body))-1)/testSeg {
			t.Fatalf("frame [%d,+%d) crosses a segment", pos, len(body))
		}
		if !bytes.Equal(body, src[pos:pos+int64(len(body))]) {
			t.Fatalf("frame at %d: bytes differ from the master's file", pos)
		}
		pos += int64(len(body))
	}
	h, body, ok := r.frame()
	if !ok || h.Offset != end || len(body) != 0 {
		t.Fatalf("want a heartbeat at %d, got %+v ok=%v", end, h, ok)
	}
}

func readAll(t *testing.T, dir string) []byte {
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var all []byte
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, b...)
	}
	return all
}

func TestMasterClosesLyingSlave(t *testing.T) {
	mdir, _ := tempDirs(t)
	// A backlog far larger than socket buffers hold: the master is still
	// sending it when the lie arrives, and must stop there.
	end := writeRecords(t, mdir, testSeg, 40000, 1000)
	tm := startMaster(t, mdir, MasterConfig{})
	sidecartest.Eventually(t, 10*time.Second, "master scan", func() bool { return tm.tail.State().End == end })
	r := dialRaw(t, tm.addr)
	r.report(0)
	r.frame()
	r.report(1 << 40) // an acknowledgement of bytes never sent
	drained := int64(0)
	for {
		h, b, ok := r.frame()
		if !ok {
			break
		}
		drained = h.Offset + int64(len(b))
	}
	if drained >= end {
		t.Fatalf("the master sent the whole backlog (%d bytes) to a slave that lied", end)
	}
	// The connection closes before the tracker forgets the slave; the lie
	// itself was never recorded as an acknowledgement.
	sidecartest.Eventually(t, 5*time.Second, "lying slave removed from the tracker", func() bool {
		got := tm.tracker.Snapshot()
		return len(got.Slaves) == 0
	})
}

func TestMasterRefusesUnservableReports(t *testing.T) {
	mdir, _ := tempDirs(t)
	end := writeRecords(t, mdir, testSeg, 100, 100)
	tm := startMaster(t, mdir, MasterConfig{ReportGrace: 100 * time.Millisecond})
	for name, off := range map[string]int64{"beyond end": end + 1000, "mid-record": 50, "negative": -5} {
		t.Run(name, func(t *testing.T) {
			r := dialRaw(t, tm.addr)
			r.report(off)
			r.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
			n, err := r.conn.Read(make([]byte, 1))
			if n != 0 || !errors.Is(err, io.EOF) {
				t.Fatalf("want a close without bytes, got n=%d err=%v", n, err)
			}
		})
	}
}

func TestMasterAcceptsSplitAndCoalescedReports(t *testing.T) {
	mdir, _ := tempDirs(t)
	end := writeRecords(t, mdir, testSeg, 100, 100)
	tm := startMaster(t, mdir, MasterConfig{})
	r := dialRaw(t, tm.addr)
	r.report(0)
	for sent := int64(0); sent < end; {
		h, b, _ := r.frame()
		sent = h.Offset + int64(len(b))
	}
	var buf []byte
	for _, off := range []int64{10, 20, end} {
		buf = binary.BigEndian.AppendUint64(buf, uint64(off))
	}
	for _, c := range buf { // one byte per write: split and then coalesced by TCP
		r.conn.Write([]byte{c})
	}
	sidecartest.Eventually(t, 5*time.Second, "ack of the last report", func() bool {
		s := tm.tracker.Snapshot()
		return len(s.Slaves) == 1 && s.Slaves[0].Acked == end
	})
}

func TestMasterDropsSilentSlave(t *testing.T) {
	mdir, _ := tempDirs(t)
	writeRecords(t, mdir, testSeg, 10, 100)
	tm := startMaster(t, mdir, MasterConfig{Housekeeping: 200 * time.Millisecond})
	r := dialRaw(t, tm.addr) // connects and never reports
	r.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := r.conn.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Fatalf("want the master to close a silent connection, got %v", err)
	}
}

func TestSlaveRefusedOnLayoutMismatch(t *testing.T) {
	mdir, sdir := tempDirs(t)
	writeRecords(t, mdir, testSeg, 10, 100)
	tm := startMaster(t, mdir, MasterConfig{})
	ts := startSlave(t, sdir, 2*testSeg, SlaveConfig{Master: tm.addr})
	ts.waitEnded(t, ErrRefused, "slave with another segment size was not refused")
	if ts.app.End() != 0 {
		t.Fatal("refused slave wrote data")
	}
}

func TestSlaveRefusedWhenDiverged(t *testing.T) {
	mdir, sdir := tempDirs(t)
	writeRecords(t, mdir, testSeg, 500, 100)
	writeRecords(t, sdir, testSeg, 400, 101) // other bytes, a valid directory of its own
	tm := startMaster(t, mdir, MasterConfig{})
	ts := startSlave(t, sdir, testSeg, SlaveConfig{Master: tm.addr})
	ts.waitEnded(t, ErrRefused, "diverged slave was not refused")
}

func TestMasterLogsGapPerSlave(t *testing.T) {
	mdir, sdir := tempDirs(t)
	end := writeRecords(t, mdir, testSeg, 100, 100)
	core, logs := observer.New(zap.DebugLevel)
	lay := testLayout(t, testSeg)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tl := tailer.New(nil, mdir, lay, tailer.Options{Settle: time.Millisecond})
	tr := ack.NewTracker(nil, ack.Policy{Kind: ack.Any}, 1<<30)
	m := NewMaster(zap.New(core), MasterConfig{GapLog: 50 * time.Millisecond}, lay, tl, tr)
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	wg.Go(func() { tl.Run(ctx) })
	wg.Go(func() { m.Serve(ctx, ln) })
	defer func() { cancel(); wg.Wait() }()
	sidecartest.Eventually(t, 10*time.Second, "two gap-log ticks with no slave", func() bool {
		return logs.FilterMessage("no slave connected: no gap to log").Len() >= 2
	})
	if logs.FilterMessage("slave replication gap").Len() != 0 {
		t.Fatal("gap logged with no slave")
	}
	startSlave(t, sdir, testSeg, SlaveConfig{Master: ln.Addr().String()})
	sidecartest.Eventually(t, 10*time.Second, "a gap line at the end", func() bool {
		for _, e := range logs.FilterMessage("slave replication gap").All() {
			if e.ContextMap()["gap_bytes"] == int64(0) && e.ContextMap()["master_end"] == end {
				return true
			}
		}
		return false
	})
}

// TestClassicSlaveReplicates: slaves that speak only the classic protocol
// (no hello), as they would against a RocketMQ broker, replicate from our
// master to identical directories.
func TestClassicSlaveReplicates(t *testing.T) {
	mdir, sdir := tempDirs(t)
	end := writeRecords(t, mdir, testSeg, 3000, 700)
	tm := startMaster(t, mdir, MasterConfig{})
	ts := startSlave(t, sdir, testSeg, SlaveConfig{Master: tm.addr, Classic: true})
	sidecartest.Eventually(t, 10*time.Second, "classic slave at the master's end", func() bool { return ts.s.End() == end })
	ts.stop()
	ts2 := startSlave(t, sdir+"2", testSeg, SlaveConfig{Master: tm.addr, Classic: true})
	sidecartest.Eventually(t, 10*time.Second, "second classic slave", func() bool { return ts2.s.End() == end })
	ts2.stop()
	for _, d := range []string{sdir, sdir + "2"} {
		rep, err := verify.Dirs(testLayout(t, testSeg), mdir, d, verify.Options{Exact: true})
		if err != nil || !rep.Equal() {
			t.Fatalf("verify %s: %v %+v", d, err, rep)
		}
	}
}

// TestRefusedSlaveStaysRefused: a slave that keeps retrying after a
// refusal reports the refusal in its state the whole time, not
// "connecting" between retries.
func TestRefusedSlaveStaysRefused(t *testing.T) {
	mdir, sdir := tempDirs(t)
	writeRecords(t, mdir, testSeg, 10, 100)
	tm := startMaster(t, mdir, MasterConfig{})
	ts := startSlave(t, sdir, 2*testSeg, SlaveConfig{Master: tm.addr})
	ts.stop() // keep its applier; run a slave that retries after refusals
	log := zaptest.NewLogger(t)
	s := NewSlave(log, SlaveConfig{Master: tm.addr, MinBackoff: 5 * time.Millisecond, MaxBackoff: 20 * time.Millisecond}, testLayout(t, 2*testSeg), ts.app)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	defer func() { cancel(); <-done }()
	sidecartest.Eventually(t, 10*time.Second, "several refused attempts", func() bool { return s.Stats().Reconnects >= 3 })
	// Watch the state through three more retries.
	until, deadline := s.Stats().Reconnects+3, time.Now().Add(10*time.Second)
	for st := s.Stats(); st.Reconnects < until && time.Now().Before(deadline); st = s.Stats() {
		if st.State != SlaveRefused {
			t.Fatalf("state %q between retries, want %q (%s)", st.State, SlaveRefused, st.LastError)
		}
	}
}
