package sidecar

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest"
	"go.uber.org/zap/zaptest/observer"

	"github.com/hasidecar/hasidecar/sidecar/haproto"
	"github.com/hasidecar/hasidecar/sidecar/meta"
)

// observedLog logs to the test and to an observer the test asserts on.
func observedLog(t testing.TB) (*zap.Logger, *observer.ObservedLogs) {
	core, logs := observer.New(zapcore.DebugLevel)
	return zap.New(zapcore.NewTee(zaptest.NewLogger(t).Core(), core)), logs
}

// startMasterLog is startMaster with the test's logger.
func startMasterLog(t testing.TB, dir string, cfg MasterConfig, log *zap.Logger) *testMaster {
	return startMasterWith(t, dir, testSeg, cfg, log)
}

// startSlaveLog is startSlave with the test's logger and back-off: cfg is
// used as given.
func startSlaveLog(t testing.TB, dir string, cfg SlaveConfig, log *zap.Logger) *testSlave {
	return startSlaveWith(t, dir, testSeg, cfg, log)
}

func reportBytes(offs ...int64) []byte {
	var b []byte
	for _, off := range offs {
		b = binary.BigEndian.AppendUint64(b, uint64(off))
	}
	return b
}

// metaPoller is a hand-driven metadata connection that sends LIST
// requests and reads their answers.
type metaPoller struct {
	conn net.Conn
	br   *bufio.Reader
}

func dialMeta(t testing.TB, addr string) *metaPoller {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	m := meta.MetaMagic
	if _, err := c.Write(binary.BigEndian.AppendUint64(nil, uint64(m))); err != nil {
		t.Fatal(err)
	}
	return &metaPoller{conn: c, br: bufio.NewReader(c)}
}

// list sends LIST and reads the answer's frame; an error means the
// master closed the connection (or it timed out).
func (p *metaPoller) list() error {
	p.conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := p.conn.Write([]byte{0x01, 0, 0, 0, 0}); err != nil { // LIST, empty payload
		return fmt.Errorf("send list: %w", err)
	}
	var h [5]byte
	if _, err := io.ReadFull(p.br, h[:]); err != nil {
		return fmt.Errorf("read answer: %w", err)
	}
	if h[0] != 0x81 { // MANIFEST
		return fmt.Errorf("answer type %#x, want a manifest", h[0])
	}
	if _, err := p.br.Discard(int(binary.BigEndian.Uint32(h[1:]))); err != nil {
		return fmt.Errorf("read manifest: %w", err)
	}
	return nil
}

// closedByMaster waits for the master to close the connection.
func (p *metaPoller) closedByMaster(d time.Duration) error {
	p.conn.SetReadDeadline(time.Now().Add(d))
	_, err := p.br.ReadByte()
	return err
}

// entriesWith returns the observed entries with message msg.
func entriesWith(logs *observer.ObservedLogs, msg string) []observer.LoggedEntry {
	return logs.FilterMessage(msg).All()
}

// fieldOf returns the named field of an entry.
func fieldOf(e observer.LoggedEntry, key string) (zapcore.Field, bool) {
	for _, f := range e.Context {
		if f.Key == key {
			return f, true
		}
	}
	return zapcore.Field{}, false
}

// firstFrame reads the first frame on a raw slave connection.
func firstFrame(t *testing.T, r *rawSlave) haproto.Header {
	t.Helper()
	h, _, ok := r.frame()
	if !ok {
		t.Fatal("master closed the connection before its first frame")
	}
	return h
}
