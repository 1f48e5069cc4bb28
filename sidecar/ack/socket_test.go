package ack_test

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"testing"

	"go.uber.org/zap/zaptest"

	"github.com/hasidecar/hasidecar/sidecar/ack"
)

func TestSocketMode(t *testing.T) {
	for _, mode := range []os.FileMode{0, 0o600} {
		path := startServer(t, newTracker(t, "any"), ack.ServerOptions{Mode: mode}, nil)
		fi, err := os.Lstat(path)
		if err != nil {
			t.Fatal(err)
		}
		want := mode
		if want == 0 {
			want = 0o660
		}
		if fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != want {
			t.Errorf("mode %v, want socket %v", fi.Mode(), want)
		}
	}
}

func TestStaleSocketReplaced(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ack.sock")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false) // what a crashed run leaves behind
	ln.Close()
	if _, err := os.Lstat(path); err != nil {
		t.Fatal(err)
	}
	c := dial(t, startServer(t, newTracker(t, "any"), ack.ServerOptions{Path: path}, nil))
	if _, err := c.Query(t.Context()); err != nil {
		t.Fatal(err)
	}
}

func runOnce(t *testing.T, path string) error {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	srv := ack.NewServer(zaptest.NewLogger(t), ack.ServerOptions{Path: path}, newTracker(t, "any"), nil)
	return srv.Run(ctx) // returns at once with the error under test
}

func TestLiveListenerNotReplaced(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ack.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if err := runOnce(t, path); !errors.Is(err, ack.ErrPathInUse) {
		t.Fatalf("Run on a live socket: %v", err)
	}
	if _, err := os.Lstat(path); err != nil {
		t.Fatalf("live socket file touched: %v", err)
	}
}

func TestNotASocketRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ack.sock")
	if err := os.WriteFile(path, []byte("precious"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := runOnce(t, path); !errors.Is(err, ack.ErrPathInUse) {
		t.Fatalf("Run on a regular file: %v", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "precious" {
		t.Fatal("regular file replaced")
	}
}
