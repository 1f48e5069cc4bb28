package sidecar

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hasidecar/hasidecar/sidecar/haproto"
	"github.com/hasidecar/hasidecar/sidecar/sidecartest"
	"github.com/hasidecar/hasidecar/sidecar/verify"
)

// lie is what a lying master does on one connection, after reading the
// slave's first report.
type lie struct {
	name string
	do   func(t *testing.T, c net.Conn, report int64)
}

// liar is a raw TCP server that plays one lie per connection, in order,
// then forwards every later connection to an honest master.
type liar struct {
	t      *testing.T
	ln     net.Listener
	lies   []lie
	honest string
	conns  atomic.Int64
	wg     sync.WaitGroup

	mu    sync.Mutex
	open  []net.Conn
	first []int64 // the first report of each connection
}

func startLiar(t *testing.T, honest string, lies []lie) *liar {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := &liar{t: t, ln: ln, lies: lies, honest: honest}
	l.wg.Go(l.accept)
	t.Cleanup(l.stop)
	return l
}

func (l *liar) stop() {
	l.ln.Close()
	l.mu.Lock()
	for _, c := range l.open {
		c.Close()
	}
	l.mu.Unlock()
	l.wg.Wait()
}

func (l *liar) track(c net.Conn) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.open = append(l.open, c)
}

func (l *liar) accept() {
	for {
		c, err := l.ln.Accept()
		if err != nil {
			return
		}
		l.track(c)
		n := int(l.conns.Add(1)) - 1
		l.wg.Go(func() {
			defer c.Close()
			var b [8]byte
			c.SetReadDeadline(time.Now().Add(10 * time.Second))
			if _, err := io.ReadFull(c, b[:]); err != nil {
				return
			}
			c.SetReadDeadline(time.Time{})
			report := int64(binary.BigEndian.Uint64(b[:]))
			l.mu.Lock()
			l.first = append(l.first, report)
			l.mu.Unlock()
			if n < len(l.lies) {
				l.lies[n].do(l.t, c, report)
				return
			}
			l.forward(c, b[:])
		})
	}
}

// forward pipes a connection to the honest master, first report included.
func (l *liar) forward(c net.Conn, first []byte) {
	h, err := net.Dial("tcp", l.honest)
	if err != nil {
		return
	}
	l.track(h)
	defer h.Close()
	if _, err := h.Write(first); err != nil {
		return
	}
	done := make(chan struct{})
	go func() { io.Copy(c, h); c.Close(); close(done) }()
	io.Copy(h, c)
	h.Close()
	<-done
}

func header(off int64, size int32) []byte {
	var b [haproto.HeaderSize]byte
	haproto.PutHeader(b[:], haproto.Header{Offset: off, Size: size}) // encodes lies as they are
	return b[:]
}

// masterBytes reads [off, off+n) of the master's first segment.
func masterBytes(t *testing.T, dir string, off int64, n int) []byte {
	b, err := os.ReadFile(filepath.Join(dir, testLayout(t, testSeg).SegmentName(0)))
	if err != nil {
		t.Fatal(err)
	}
	return b[off : off+int64(n)]
}

// TestLyingMaster: a classic slave faces a master that sends a frame at the
// wrong offset, huge and negative sizes, garbage, a body and a header cut
// short. It never holds a wrong byte, reconnects after each lie, and ends
// identical to an honest master afterwards.
func TestLyingMaster(t *testing.T) {
	mdir, sdir := tempDirs(t)
	prefix := writeRecords(t, mdir, testSeg, 50, 500) // a record boundary the slave will hold
	tm := startMaster(t, mdir, MasterConfig{})
	send := func(c net.Conn, bs ...[]byte) {
		for _, b := range bs {
			if _, err := c.Write(b); err != nil {
				return
			}
		}
	}
	// drain reads until the slave closes: a lie must make it hang up.
	drain := func(c net.Conn) { c.SetReadDeadline(time.Now().Add(10 * time.Second)); io.Copy(io.Discard, c) }
	honestPrefix := lie{"honest prefix", func(t *testing.T, c net.Conn, rep int64) {
		send(c, header(0, int32(prefix)), masterBytes(t, mdir, 0, int(prefix)))
		drain(c) // the slave keeps the connection; the next lie starts when the test cuts it
	}}
	garbage := make([]byte, 4096)
	rand.Read(garbage)
	lies := []lie{
		honestPrefix,
		{"wrong offset", func(t *testing.T, c net.Conn, rep int64) {
			send(c, header(rep+100, 100), masterBytes(t, mdir, rep+100, 100))
			drain(c)
		}},
		{"offset behind", func(t *testing.T, c net.Conn, rep int64) {
			send(c, header(rep-100, 200), masterBytes(t, mdir, rep-100, 200))
			drain(c)
		}},
		{"huge size", func(t *testing.T, c net.Conn, rep int64) { send(c, header(rep, 0x7fffffff)); drain(c) }},
		{"just over the limit", func(t *testing.T, c net.Conn, rep int64) { send(c, header(rep, haproto.MaxBody+1)); drain(c) }},
		{"negative size", func(t *testing.T, c net.Conn, rep int64) { send(c, header(rep, -5), garbage[:100]); drain(c) }},
		{"negative offset", func(t *testing.T, c net.Conn, rep int64) { send(c, header(-rep, 10), garbage[:10]); drain(c) }},
		{"garbage", func(t *testing.T, c net.Conn, rep int64) { send(c, garbage); drain(c) }},
		{"header cut in half", func(t *testing.T, c net.Conn, rep int64) { send(c, header(rep, 100)[:6]) }},
		{"body cut short", func(t *testing.T, c net.Conn, rep int64) {
			send(c, header(rep, 5000), masterBytes(t, mdir, rep, 2500))
		}},
		{"huge body promised, then silence and close", func(t *testing.T, c net.Conn, rep int64) {
			send(c, header(rep, haproto.MaxBody), garbage)
		}},
	}
	l := startLiar(t, tm.addr, lies)
	ts := startSlave(t, sdir, testSeg, SlaveConfig{Master: l.ln.Addr().String(), Classic: true, Housekeeping: 5 * time.Second})
	sidecartest.Eventually(t, 10*time.Second, "the honest prefix", func() bool { return ts.s.End() == prefix })
	l.mu.Lock()
	l.open[0].Close() // end the honest connection: the lies follow
	l.mu.Unlock()
	for i := 1; i < len(lies); i++ {
		sidecartest.Eventually(t, 10*time.Second, "a reconnect after lie "+lies[i].name, func() bool { return l.conns.Load() > int64(i+1) })
		if end := ts.s.End(); end != prefix {
			t.Fatalf("after lie %q the slave's end is %d, want %d", lies[i].name, end, prefix)
		}
		checkSlaveBytes(t, mdir, sdir, prefix)
	}
	end := writeRecords(t, mdir, testSeg, 2000, 700) // the honest master goes on
	sidecartest.Eventually(t, 20*time.Second, "the slave at the honest master's end", func() bool { return ts.s.End() == end })
	ts.stop()
	rep, err := verify.Dirs(testLayout(t, testSeg), mdir, sdir, verify.Options{Exact: true})
	if err != nil || !rep.Equal() {
		t.Fatalf("verify: %v %+v", err, rep)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, r := range l.first[1:] {
		if r != prefix {
			t.Fatalf("connection %d reported %d, want the slave's end %d", i+1, r, prefix)
		}
	}
}

// checkSlaveBytes fails unless the slave's first segment equals the
// master's below end and is zero from end on.
func checkSlaveBytes(t *testing.T, mdir, sdir string, end int64) {
	t.Helper()
	name := testLayout(t, testSeg).SegmentName(0)
	m, err := os.ReadFile(filepath.Join(mdir, name))
	if err != nil {
		t.Fatal(err)
	}
	s, err := os.ReadFile(filepath.Join(sdir, name))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(m[:end], s[:end]) {
		t.Fatal("slave bytes below its end differ from the master's")
	}
	if i := bytes.IndexFunc(s[end:], func(r rune) bool { return r != 0 }); i >= 0 {
		t.Fatalf("slave holds a non-zero byte at %d, beyond its end %d", end+int64(i), end)
	}
}

// TestSilentPeer: a peer that connects and sends nothing is closed after
// housekeeping, and a real slave replicates meanwhile.
func TestSilentPeer(t *testing.T) {
	mdir, sdir := tempDirs(t)
	writeRecords(t, mdir, testSeg, 100, 500)
	tm := startMaster(t, mdir, MasterConfig{Housekeeping: 500 * time.Millisecond, Heartbeat: 100 * time.Millisecond})
	silent := make([]net.Conn, 20)
	for i := range silent {
		c, err := net.Dial("tcp", tm.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		silent[i] = c
	}
	ts := startSlave(t, sdir, testSeg, SlaveConfig{Master: tm.addr, Heartbeat: 100 * time.Millisecond})
	end := writeRecords(t, mdir, testSeg, 1000, 700)
	sidecartest.Eventually(t, 10*time.Second, "the slave at the master's end", func() bool { return ts.s.End() == end })
	for _, c := range silent {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, err := c.Read(make([]byte, 1))
		var ne net.Error
		if n != 0 || err == nil || errors.As(err, &ne) && ne.Timeout() {
			t.Fatalf("silent peer: read %d bytes, %v; want the master to close it", n, err)
		}
	}
}

// TestReportFlood: peers flooding millions of 8-byte reports (honest zeros
// and lies) do not stop a real slave; liars are disconnected.
func TestReportFlood(t *testing.T) {
	mdir, sdir := tempDirs(t)
	writeRecords(t, mdir, testSeg, 100, 500)
	tm := startMaster(t, mdir, MasterConfig{})
	ts := startSlave(t, sdir, testSeg, SlaveConfig{Master: tm.addr})
	// Each flood sends at least 2 million reports and goes on until the
	// real slave has caught up, so the two overlap.
	const reports = 2_000_000
	var caughtUp atomic.Bool
	var sentHonest atomic.Int64
	flood := func(c net.Conn, val func(i int) int64) error {
		buf := make([]byte, 0, 64<<10)
		for i := 0; i < reports || !caughtUp.Load(); {
			buf = buf[:0]
			for ; len(buf) < cap(buf); i++ {
				buf = binary.BigEndian.AppendUint64(buf, uint64(val(i)))
			}
			if _, err := c.Write(buf); err != nil {
				return err
			}
			if val(1) == 0 {
				sentHonest.Store(int64(i))
			}
		}
		return nil
	}
	var wg, floods sync.WaitGroup
	defer wg.Wait()
	var honestErr, liarErr error
	honest, err := net.Dial("tcp", tm.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer honest.Close()
	wg.Go(func() { // read and drop the frames, so the master's sender runs
		honest.SetReadDeadline(time.Now().Add(30 * time.Second))
		io.Copy(io.Discard, honest)
	})
	floods.Go(func() { honestErr = flood(honest, func(int) int64 { return 0 }) })
	liarConn, err := net.Dial("tcp", tm.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer liarConn.Close()
	floods.Go(func() {
		liarConn.SetWriteDeadline(time.Now().Add(30 * time.Second))
		liarErr = flood(liarConn, func(i int) int64 { return int64(i) << 20 }) // acks beyond anything sent
	})
	end := writeRecords(t, mdir, testSeg, 3000, 700)
	sidecartest.Eventually(t, 20*time.Second, "the real slave at the master's end during the flood", func() bool { return ts.s.End() == end })
	caughtUp.Store(true)
	floods.Wait()
	t.Logf("honest flood: %d reports", sentHonest.Load())
	honest.Close() // ends the frame reader
	wg.Wait()
	if honestErr != nil {
		t.Fatalf("an honest flood of reports was cut: %v", honestErr)
	}
	if liarErr == nil {
		t.Fatal("a flood of lying acknowledgements was accepted to the end")
	}
	ts.stop()
	rep, err := verify.Dirs(testLayout(t, testSeg), mdir, sdir, verify.Options{Exact: true})
	if err != nil || !rep.Equal() {
		t.Fatalf("verify: %v %+v", err, rep)
	}
}
