package meta

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"net"
	"testing"
	"time"
)

// rawConn dials the server and sends the magic, for speaking the protocol by hand.
func rawConn(t *testing.T, dial func(context.Context) (net.Conn, error)) (net.Conn, *bufio.Reader) {
	t.Helper()
	conn, err := dial(ctxT(t, 5*time.Second))
	must(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	var m [8]byte
	v := MetaMagic
	binary.BigEndian.PutUint64(m[:], uint64(v))
	_, err = conn.Write(m[:])
	must(t, err)
	return conn, bufio.NewReader(conn)
}

func TestServerRequests(t *testing.T) {
	master := t.TempDir()
	writeFile(t, master, "a.json", `"A"`)
	writeFile(t, master, "b.txt", "B")
	conn, br := rawConn(t, startServer(t, ServerOptions{Dir: master}))

	// GET of a valid but not included name: a per-file BAD_NAME, the
	// connection goes on.
	must(t, writeFrame(conn, typeGet, EncodeGet("b.txt", 1<<20)))
	typ, p, err := readFrame(br, 1<<20)
	must(t, err)
	c, err := DecodeContent(p)
	if err != nil || typ != typeContent || c.Status != StatusBadName || len(c.Data) != 0 {
		t.Fatalf("get b.txt: type %#x %+v %v", typ, c, err)
	}
	must(t, writeFrame(conn, typeGet, EncodeGet("a.json", 1<<20)))
	_, p, err = readFrame(br, 1<<20)
	must(t, err)
	if c, err = DecodeContent(p); err != nil || c.Status != StatusOK || string(c.Data) != `"A"` {
		t.Fatalf("get a.json: %+v %v", c, err)
	}
	// A limit below the file's size: TOO_LARGE for this file only.
	must(t, writeFrame(conn, typeGet, EncodeGet("a.json", 2)))
	_, p, err = readFrame(br, 1<<20)
	must(t, err)
	if c, err = DecodeContent(p); err != nil || c.Status != StatusTooLarge {
		t.Fatalf("get a.json with limit 2: %+v %v", c, err)
	}
	// An invalid name is a protocol error: ERROR, then the server hangs up.
	must(t, writeFrame(conn, typeGet, EncodeGet("../a.json", 1<<20)))
	typ, p, err = readFrame(br, 1<<20)
	if err != nil || typ != typeError {
		t.Fatalf("get ../a.json: type %#x %q %v", typ, p, err)
	}
	if _, _, err := readFrame(br, 1<<20); err == nil {
		t.Fatal("connection still open after a protocol error")
	}
}

func TestServerRejectsOversizeRequest(t *testing.T) {
	conn, br := rawConn(t, startServer(t, ServerOptions{Dir: t.TempDir()}))
	_, err := conn.Write([]byte{typeGet, 0, 0, 0x10, 0})
	must(t, err)
	typ, _, err := readFrame(br, 1<<20)
	if err != nil || typ != typeError {
		t.Fatalf("type %#x, %v", typ, err)
	}
}

func TestServerMissingDir(t *testing.T) {
	dial := startServer(t, ServerOptions{Dir: t.TempDir() + "/missing"})
	_, err := newClient(t, t.TempDir(), dial, nil).SyncNow(ctxT(t, 5*time.Second))
	if !errors.Is(err, ErrServer) {
		t.Fatalf("SyncNow: %v", err)
	}
}

// TestServeConnEndsWithContext: an idle connection is closed as soon as
// the server's context ends, and ServeConn returns.
func TestServeConnEndsWithContext(t *testing.T) {
	srv := NewServer(nil, ServerOptions{Dir: t.TempDir()})
	a, b := net.Pipe()
	defer b.Close()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { srv.ServeConn(ctx, a); close(done) }()
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("ServeConn did not return")
	}
}

func TestCheckPatterns(t *testing.T) {
	if err := CheckPatterns([]string{"*.json", "topics*"}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"[", "", "a/*.json"} {
		if err := CheckPatterns([]string{p}); !errors.Is(err, ErrBadPattern) {
			t.Errorf("%q: %v", p, err)
		}
	}
}
