package meta

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"testing"
	"time"
)

// hostile serves one scripted answer per connection: it reads the magic and
// the LIST, then writes reply(getName) for the first GET, if any.
func hostile(t *testing.T, manifest []byte, content func(name string) []byte) func(context.Context) (net.Conn, error) {
	return listen(t, func(ctx context.Context, conn net.Conn) {
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
		br := bufio.NewReader(conn)
		var magic [8]byte
		if _, err := io.ReadFull(br, magic[:]); err != nil {
			return
		}
		if _, _, err := readFrame(br, maxRequest); err != nil {
			return
		}
		_, _ = conn.Write(manifest)
		for content != nil {
			typ, p, err := readFrame(br, maxRequest)
			if err != nil || typ != typeGet || len(p) < 8 {
				return
			}
			_, _ = conn.Write(content(string(p[8:])))
		}
	})
}

func frame(typ uint8, p []byte) []byte {
	b := []byte{typ, 0, 0, 0, 0}
	binary.BigEndian.PutUint32(b[1:], uint32(len(p)))
	return append(b, p...)
}

func okEntry(name string, data []byte) Entry {
	return Entry{Name: name, Size: int64(len(data)), Sum: sha256.Sum256(data)}
}

func TestHostileServer(t *testing.T) {
	data := []byte(`{"x":1}`)
	good := frame(typeManifest, EncodeManifest([]Entry{okEntry("a.json", data)}))
	huge := []byte{typeManifest, 0xff, 0xff, 0xff, 0xff}
	cases := []struct {
		name     string
		manifest []byte
		content  func(string) []byte
		want     error
	}{
		{"garbage", []byte("HTTP/1.1 400 Bad Request\r\n\r\n"), nil, ErrProtocol},
		{"huge manifest length", huge, nil, ErrProtocol},
		{"huge entry count", frame(typeManifest, []byte{0xff, 0xff, 0xff, 0xff}), nil, ErrProtocol},
		{"escaping name", frame(typeManifest, EncodeManifest([]Entry{okEntry("../a.json", data)})), nil, ErrProtocol},
		{"short manifest", good[:len(good)-3], nil, io.ErrUnexpectedEOF},
		{"server error", frame(typeError, []byte("disk on fire")), nil, ErrServer},
		{"huge content length", good, func(string) []byte { return []byte{typeContent, 0x7f, 0xff, 0xff, 0xff} }, ErrProtocol},
		{"content for another name", good, func(string) []byte {
			return frame(typeContent, EncodeContent(Content{Name: "b.json", Sum: sha256.Sum256(data), Data: data}))
		}, ErrProtocol},
		{"error status with data", good, func(n string) []byte {
			return frame(typeContent, EncodeContent(Content{Name: n, Status: StatusUnstable, Data: data}))
		}, ErrProtocol},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			slave := t.TempDir()
			c := newClient(t, slave, hostile(t, tc.manifest, tc.content), nil)
			_, err := c.SyncNow(ctxT(t, 5*time.Second))
			if !errors.Is(err, tc.want) {
				t.Fatalf("SyncNow: %v, want %v", err, tc.want)
			}
			if got := dirNames(t, slave); len(got) != 0 {
				t.Fatalf("slave holds %v", got)
			}
		})
	}
}

// TestBadChecksumFailsTheFileOnly: content that does not match its hash is
// not written, and the next file on the same connection still arrives.
func TestBadChecksumFailsTheFileOnly(t *testing.T) {
	data := []byte(`{"x":1}`)
	manifest := frame(typeManifest, EncodeManifest([]Entry{okEntry("a.json", data), okEntry("b.json", data)}))
	dial := hostile(t, manifest, func(name string) []byte {
		c := Content{Name: name, Sum: sha256.Sum256(data), Data: data}
		if name == "a.json" {
			c.Data = []byte(`{"x":2}`)
		}
		return frame(typeContent, EncodeContent(c))
	})
	slave := t.TempDir()
	res := sync1(t, ctxT(t, 5*time.Second), newClient(t, slave, dial, nil))
	if len(res.Updated) != 1 || res.Updated[0] != "b.json" || res.Failed["a.json"] == "" {
		t.Fatalf("result %+v", res)
	}
	if got := dirNames(t, slave); len(got) != 1 || got[0] != "b.json" {
		t.Fatalf("slave holds %v", got)
	}
}

// TestSilentServerBoundedByContext: a server that never answers costs the
// client no more than its context.
func TestSilentServerBoundedByContext(t *testing.T) {
	dial := listen(t, func(ctx context.Context, conn net.Conn) {
		defer conn.Close()
		<-ctx.Done()
	})
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	_, err := newClient(t, t.TempDir(), dial, nil).SyncNow(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("SyncNow: %v", err)
	}
}
