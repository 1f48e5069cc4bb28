package ackclient_test

import (
	"bufio"
	"io"
	"net"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/hasidecar/hasidecar/sidecar/ack"
	"github.com/hasidecar/hasidecar/sidecar/ackclient"
)

func TestQueryCarriesDivergence(t *testing.T) {
	tr := tracker(t)
	tr.Sent("a", 100)
	tr.Diverge(50, "writer truncated")
	c, err := ackclient.Dial(t.Context(), serve(t, tr, nil))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s, err := c.Query(t.Context())
	if d := s.Divergence; err != nil || !d.Active || d.At != 50 || d.Reason != "writer truncated" || d.Since.IsZero() {
		t.Fatalf("query: %+v %v", s, err)
	}
}

// A server from before QUERY_EXT answers it ERROR 2; the client asks QUERY
// instead, and only QUERY from then on.
func TestQueryFallsBackForOldServers(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	var exts atomic.Int64
	done := make(chan struct{})
	t.Cleanup(func() { ln.Close(); <-done })
	go func() {
		defer close(done)
		s, err := ln.Accept()
		if err != nil {
			return
		}
		defer s.Close()
		r := bufio.NewReader(s)
		if _, err := io.ReadFull(r, make([]byte, ack.PreambleLen)); err != nil {
			return
		}
		s.Write(ack.AppendPreamble(nil, ack.Version, ack.PreambleOK))
		for {
			body, err := ack.ReadFrame(r, nil, ack.MaxRequest)
			if err != nil {
				return
			}
			req, _ := ack.DecodeRequest(body)
			if req.Type == ack.TypeQueryExt {
				exts.Add(1)
				s.Write(ack.AppendError(nil, req.ID, ack.CodeUnknownType, "unknown request type 0x04"))
				continue
			}
			s.Write(ack.AppendSnapshot(nil, req.ID, ack.Snapshot{MasterEnd: 77, Policy: ack.Policy{Kind: ack.Any}}))
		}
	}()
	c, err := ackclient.Dial(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for range 3 {
		if s, err := c.Query(t.Context()); err != nil || s.MasterEnd != 77 {
			t.Fatalf("query of an old server: %+v %v", s, err)
		}
	}
	if n := exts.Load(); n != 1 {
		t.Fatalf("%d QUERY_EXT sent, want 1", n)
	}
}
