package meta

import (
	"context"
	"encoding/binary"
	"io"
	"net"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"
)

// listen starts a TCP listener on 127.0.0.1 whose every accepted connection
// is handed to handle on its own goroutine; all of them end with the test.
// It returns a dial function for ClientOptions.Dial.
func listen(t testing.TB, handle func(ctx context.Context, conn net.Conn)) func(context.Context) (net.Conn, error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() { handle(ctx, conn) })
		}
	})
	t.Cleanup(func() {
		cancel()
		_ = ln.Close()
		wg.Wait()
	})
	addr := ln.Addr().String()
	return func(ctx context.Context) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "tcp", addr)
	}
}

// startServer runs a Server behind a tiny router that reads the magic the
// way the master's accept loop does.
func startServer(t testing.TB, opts ServerOptions) func(context.Context) (net.Conn, error) {
	t.Helper()
	srv := NewServer(zaptest.NewLogger(t), opts)
	return listen(t, func(ctx context.Context, conn net.Conn) {
		var magic [8]byte
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.ReadFull(conn, magic[:]); err != nil || !IsMetaMagic(int64(binary.BigEndian.Uint64(magic[:]))) {
			_ = conn.Close()
			return
		}
		_ = conn.SetReadDeadline(time.Time{})
		srv.ServeConn(ctx, conn)
	})
}

func newClient(t *testing.T, dir string, dial func(context.Context) (net.Conn, error), mod func(*ClientOptions)) *Client {
	t.Helper()
	opts := ClientOptions{Dir: dir, Dial: dial}
	if mod != nil {
		mod(&opts)
	}
	return NewClient(zaptest.NewLogger(t), opts)
}

func ctxT(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), d)
	t.Cleanup(cancel)
	return ctx
}

func writeFile(t *testing.T, dir, name, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, dir, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// dirNames lists a directory's entries, sorted.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names
}

func sorted(s []string) []string {
	s = append([]string(nil), s...)
	sort.Strings(s)
	return s
}

func sync1(t *testing.T, ctx context.Context, c *Client) Result {
	t.Helper()
	res, err := c.SyncNow(ctx)
	if err != nil {
		t.Fatalf("SyncNow: %v", err)
	}
	return res
}
