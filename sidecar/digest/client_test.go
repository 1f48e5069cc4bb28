package digest_test

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

	"go.uber.org/zap/zaptest"

	"github.com/hasidecar/hasidecar/plugins/rocketmq"
	"github.com/hasidecar/hasidecar/sidecar"
	"github.com/hasidecar/hasidecar/sidecar/ack"
	"github.com/hasidecar/hasidecar/sidecar/digest"
	"github.com/hasidecar/hasidecar/sidecar/haproto"
	"github.com/hasidecar/hasidecar/sidecar/lineage"
	"github.com/hasidecar/hasidecar/sidecar/sidecartest"
	"github.com/hasidecar/hasidecar/tailer"
)

const seg = 4 << 20

// startMaster runs a real master with lineage over ~5 MiB of records on
// 127.0.0.1 and returns its address, its directory and its end, once the
// lineage covers the end.
func startMaster(t *testing.T) (string, string, int64) {
	t.Helper()
	d := t.TempDir()
	dir := filepath.Join(d, "commitlog")
	w, err := rocketmq.OpenWriter(nil, dir, rocketmq.WriterOptions{SegmentSize: seg})
	if err != nil {
		t.Fatal(err)
	}
	var end int64
	for range 20 {
		if end, err = w.Append(&rocketmq.Message{Topic: "t", Body: make([]byte, 256<<10)}); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	log := zaptest.NewLogger(t)
	lay, err := rocketmq.New(rocketmq.Options{SegmentSize: seg})
	if err != nil {
		t.Fatal(err)
	}
	store, err := lineage.Open(log, filepath.Join(d, "lineage"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tl := tailer.New(log, dir, lay, tailer.Options{})
	m := sidecar.NewMaster(log, sidecar.MasterConfig{Lineage: store, Dir: dir}, lay, tl, ack.NewTracker(log, ack.Policy{Kind: ack.Any}, 1<<30))
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { tl.Run(ctx) })
	wg.Go(func() { m.Serve(ctx, ln) })
	t.Cleanup(func() { cancel(); wg.Wait() })
	sidecartest.Eventually(t, 10*time.Second, "lineage covers the data", func() bool { return m.Stats().Lineage.Covered == end })
	return ln.Addr().String(), dir, end
}

func dial(t *testing.T, addr string) *digest.Client {
	t.Helper()
	c, err := digest.Dial(t.Context(), func(ctx context.Context) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "tcp", addr)
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestClientAgainstAMaster(t *testing.T) {
	addr, dir, end := startMaster(t)
	c := dial(t, addr)
	info, err := c.Info()
	if err != nil {
		t.Fatal(err)
	}
	if info.End != end || len(info.Segments) != 2 || info.Segments[1].Covered != end {
		t.Fatalf("info %+v, want end %d over 2 segments", info, end)
	}
	live := info.Segments[1]
	file, err := os.ReadFile(filepath.Join(dir, live.Name))
	if err != nil {
		t.Fatal(err)
	}
	crcs, err := c.Digests(live.Base, end)
	if err != nil {
		t.Fatal(err)
	}
	if n := int((end - live.Base + lineage.BlockSize - 1) / lineage.BlockSize); len(crcs) != n {
		t.Fatalf("%d CRCs, want %d", len(crcs), n)
	}
	if want := lineage.BlockCRC(file[:lineage.BlockSize]); crcs[0] != want {
		t.Errorf("block 0: %08x, want %08x", crcs[0], want)
	}
	got, err := c.Fetch(live.Base+10, live.Base+5000)
	if err != nil || !bytes.Equal(got, file[10:5000]) {
		t.Fatalf("fetch: %v; bytes equal %v", err, bytes.Equal(got, file[10:5000]))
	}
	// A refusal keeps the connection.
	var de *haproto.DigestError
	if _, err := c.Digests(live.Base, end+lineage.BlockSize); !errors.As(err, &de) || de.Code != haproto.DigestCodeRange {
		t.Fatalf("digests beyond the end: %v, want a range refusal", err)
	}
	if _, err := c.Info(); err != nil {
		t.Fatalf("after a refusal: %v", err)
	}
	// Bounds are checked before anything is sent.
	if _, err := c.Fetch(0, haproto.MaxFetch+1); !errors.Is(err, haproto.ErrBadDigest) {
		t.Fatalf("oversized fetch: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Info(); !errors.Is(err, digest.ErrClosed) {
		t.Fatalf("after Close: %v, want ErrClosed", err)
	}
}

// fakeMaster accepts one connection, reads the magic and one request,
// and answers with reply.
func fakeMaster(t *testing.T, reply []byte) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { ln.Close(); <-done })
	go func() {
		defer close(done)
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(5 * time.Second))
		var magic [8]byte
		if _, err := io.ReadFull(conn, magic[:]); err != nil {
			return
		}
		if _, err := haproto.ReadDigestRequest(conn); err != nil {
			return
		}
		if reply == nil {
			return // closes without a reply
		}
		conn.Write(reply)
		io.Copy(io.Discard, conn)
	}()
	return ln.Addr().String()
}

func lenDoc(doc string, tail ...byte) []byte {
	return append(append(binary.BigEndian.AppendUint32(nil, uint32(len(doc))), doc...), tail...)
}

// A hostile or broken master cannot make the client allocate beyond what
// it asked, nor hand it a wrong count: the client fails and stays closed.
func TestClientRefusesBadReplies(t *testing.T) {
	cases := map[string]struct {
		reply []byte
		call  func(*digest.Client) error
	}{
		"more CRCs than asked": {lenDoc(`{"crcs":1000000}`), func(c *digest.Client) error { _, err := c.Digests(0, 1); return err }},
		"fewer CRCs than asked": {lenDoc(`{"crcs":1}`, 0, 0, 0, 1), func(c *digest.Client) error {
			_, err := c.Digests(0, 2*lineage.BlockSize)
			return err
		}},
		"more bytes than asked": {lenDoc(`{"data":100}`), func(c *digest.Client) error { _, err := c.Fetch(0, 10); return err }},
		"huge document":         {binary.BigEndian.AppendUint32(nil, 1<<31), func(c *digest.Client) error { _, err := c.Info(); return err }},
		"error without code":    {lenDoc(`{"error":"x"}`), func(c *digest.Client) error { _, err := c.Info(); return err }},
		"closed":                {nil, func(c *digest.Client) error { _, err := c.Info(); return err }},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			c := dial(t, fakeMaster(t, tc.reply))
			if err := tc.call(c); err == nil {
				t.Fatal("accepted")
			}
			if _, err := c.Info(); !errors.Is(err, digest.ErrClosed) {
				t.Fatalf("next call: %v, want ErrClosed", err)
			}
		})
	}
}

func TestDialFailure(t *testing.T) {
	boom := errors.New("boom")
	_, err := digest.Dial(t.Context(), func(context.Context) (net.Conn, error) { return nil, boom })
	if !errors.Is(err, boom) {
		t.Fatalf("error %v, want it to wrap the dial error", err)
	}
}
