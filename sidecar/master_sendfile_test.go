package sidecar

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/hasidecar/hasidecar/sidecar/haproto"
	"github.com/hasidecar/hasidecar/tailer"
)

// tcpPair returns both ends of a real loopback TCP connection.
func tcpPair(t *testing.T) (*net.TCPConn, *net.TCPConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	acc := make(chan net.Conn, 1)
	go func() { c, _ := ln.Accept(); acc <- c }()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	s := <-acc
	if s == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { c.Close(); s.Close() })
	return s.(*net.TCPConn), c.(*net.TCPConn)
}

// mappedFile writes n patterned bytes to a file and maps it read-only, as
// the tailer maps segments.
func mappedFile(t *testing.T, n int) []byte {
	t.Helper()
	data := make([]byte, n)
	for i := range data {
		data[i] = byte(i*7 + i/4099)
	}
	path := filepath.Join(t.TempDir(), "seg")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := syscall.Mmap(int(f.Fd()), 0, n, syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Munmap(m) })
	return m
}

// TestSplicerSendsFramesInOrder sends more frames than the pipe and the
// socket buffers hold, from odd offsets of a mapped file, to a reader over a
// 16 KiB send buffer: every vmsplice and splice comes back short or EAGAIN at
// some point and must be resumed, and the reader must get each header
// right before its body, byte for byte.
func TestSplicerSendsFramesInOrder(t *testing.T) {
	t.Setenv(ZeroCopyEnv, "1")
	srv, cli := tcpPair(t)
	if err := srv.SetWriteBuffer(16 << 10); err != nil {
		t.Fatal(err)
	}
	const total, batch = 6 << 20, 32<<10 + 13 // not page-aligned bodies
	data := mappedFile(t, total)
	zc, err := newSplicer(&bufferedConn{Conn: srv})
	if err != nil || zc == nil {
		t.Fatalf("newSplicer on plain TCP = %v, %v; want a splicer", zc, err)
	}
	defer zc.close()

	var chunks []tailer.Chunk
	var hdrs, want []byte
	for off := 0; off < total; off += batch {
		end := min(off+batch, total)
		chunks = append(chunks, tailer.Chunk{Offset: int64(off), Data: data[off:end]})
		h := make([]byte, haproto.HeaderSize)
		haproto.PutHeader(h, haproto.Header{Offset: int64(off), Size: int32(end - off)})
		hdrs = append(hdrs, h...)
		want = append(append(want, h...), data[off:end]...)
	}
	got := make(chan []byte, 1)
	go func() {
		b, _ := io.ReadAll(io.LimitReader(cli, int64(len(want))))
		got <- b
	}()
	srv.SetWriteDeadline(time.Now().Add(time.Minute))
	if err := zc.writeFrames(hdrs, chunks); err != nil {
		t.Fatalf("writeFrames: %v", err)
	}
	if zc.queued != 0 {
		t.Fatalf("%d bytes left in the pipe after writeFrames returned", zc.queued)
	}
	b := <-got
	if !bytes.Equal(b, want) {
		i := 0
		for i < min(len(b), len(want)) && b[i] == want[i] {
			i++
		}
		t.Fatalf("received %d bytes, want %d; first difference at %d", len(b), len(want), i)
	}
}

// TestSplicerOnlyOnPlainTCP checks the paths kept for TLS-like connections
// and without ZeroCopyEnv=1.
func TestSplicerOnlyOnPlainTCP(t *testing.T) {
	srv, _ := tcpPair(t)
	a, b := net.Pipe() // not a socket the kernel can splice into
	defer a.Close()
	defer b.Close()
	if zc, err := newSplicer(a); zc != nil || err != nil {
		t.Fatalf("newSplicer(net.Pipe) = %v, %v; want nil, nil", zc, err)
	}
	t.Setenv(ZeroCopyEnv, "")
	if zc, err := newSplicer(srv); zc != nil || err != nil {
		t.Fatalf("newSplicer without %s=1 = %v, %v; want nil, nil", ZeroCopyEnv, zc, err)
	}
}

// TestSplicerWriteErrorWrapped checks that a peer gone mid-send is an
// error wrapping the socket's, not a hang or a panic.
func TestSplicerWriteErrorWrapped(t *testing.T) {
	t.Setenv(ZeroCopyEnv, "1")
	srv, cli := tcpPair(t)
	cli.SetLinger(0)
	cli.Close()
	data := mappedFile(t, 4<<20)
	zc, err := newSplicer(srv)
	if err != nil || zc == nil {
		t.Fatalf("newSplicer: %v, %v", zc, err)
	}
	defer zc.close()
	hdr := make([]byte, haproto.HeaderSize)
	srv.SetWriteDeadline(time.Now().Add(time.Minute))
	var werr error
	for i := 0; i < 100 && werr == nil; i++ { // the reset arrives after a write or two
		werr = zc.writeFrames(hdr, []tailer.Chunk{{Data: data}})
	}
	if werr == nil {
		t.Fatal("writeFrames to a closed peer kept succeeding")
	}
	if !errorsIsAny(werr, syscall.EPIPE, syscall.ECONNRESET) {
		t.Fatalf("writeFrames error %v does not wrap EPIPE or ECONNRESET", werr)
	}
}

func errorsIsAny(err error, targets ...error) bool {
	for _, t := range targets {
		if errors.Is(err, t) {
			return true
		}
	}
	return false
}
