package ack_test

import (
	"context"
	"io"
	"net"
	"path/filepath"
	"testing"

	"go.uber.org/zap"

	"github.com/hasidecar/hasidecar/sidecar/ack"
	"github.com/hasidecar/hasidecar/sidecar/ackclient"
)

// BenchmarkWaitRoundTrip measures a WAIT for an already-replicated offset
// over the ack socket, next to a plain Unix-socket ping-pong of the same
// sizes (21-byte request, 17-byte answer) as the floor.
func BenchmarkWaitRoundTrip(b *testing.B) {
	b.Run("ack_wait", func(b *testing.B) {
		c := benchClient(b)
		b.ReportAllocs()
		for b.Loop() {
			if r, err := c.Wait(b.Context(), 100); err != nil || r.Status != ack.OK {
				b.Fatal(r, err)
			}
		}
	})
	b.Run("ack_wait_parallel", func(b *testing.B) {
		c := benchClient(b)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if r, err := c.Wait(context.Background(), 100); err != nil || r.Status != ack.OK {
					b.Error(r, err)
					return
				}
			}
		})
	})
	b.Run("unix_pingpong", func(b *testing.B) {
		c := pingPong(b)
		req, resp := make([]byte, 21), make([]byte, 17)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := c.Write(req); err != nil {
				b.Fatal(err)
			}
			if _, err := io.ReadFull(c, resp); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func benchClient(b *testing.B) *ackclient.Client {
	tr := ack.NewTracker(zap.NewNop(), ack.Policy{Kind: ack.Any}, 0)
	tr.AddSlave("a", "x")
	tr.Ack("a", 1000)
	path := filepath.Join(b.TempDir(), "ack.sock")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		ack.NewServer(zap.NewNop(), ack.ServerOptions{Path: path}, tr, nil).Run(ctx)
	}()
	var c *ackclient.Client
	var err error
	for range 5000 { // the server is listening within a few ms
		if c, err = ackclient.Dial(ctx, path); err == nil {
			break
		}
	}
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close(); cancel(); <-done })
	return c
}

// pingPong returns a connection to an echo-like server answering each
// 21-byte request with 17 bytes.
func pingPong(b *testing.B) net.Conn {
	path := filepath.Join(b.TempDir(), "pp.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		s, err := ln.Accept()
		if err != nil {
			return
		}
		defer s.Close()
		req, resp := make([]byte, 21), make([]byte, 17)
		for {
			if _, err := io.ReadFull(s, req); err != nil {
				return
			}
			if _, err := s.Write(resp); err != nil {
				return
			}
		}
	}()
	c, err := net.Dial("unix", path)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close(); ln.Close(); <-done })
	return c
}
