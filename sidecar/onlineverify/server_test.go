package onlineverify

import (
	"bufio"
	"context"
	"encoding/binary"

	"io"
	"net"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/hasidecar/hasidecar/plugins/raw"
	"github.com/hasidecar/hasidecar/sidecar/haproto"
	"github.com/hasidecar/hasidecar/sidecar/lineage"
)

// testMaster is a digest server on 127.0.0.1 over a directory of raw
// segments, speaking the haproto digest channel: a real TCP peer standing
// in for the master until its server is merged. end and covered (absolute,
// per segment base; default end) shape its info answer.
type testMaster struct {
	t        *testing.T
	dir      string
	segSize  int64
	end      int64
	covered  map[int64]int64
	skipBase map[int64]bool // segments it does not list
	fetched  atomic.Int64
	ln       net.Listener
	wg       sync.WaitGroup
}

func startTestMaster(t *testing.T, dir string, segSize, end int64) *testMaster {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	m := &testMaster{t: t, dir: dir, segSize: segSize, end: end, covered: map[int64]int64{}, skipBase: map[int64]bool{}, ln: ln}
	m.wg.Go(m.accept)
	t.Cleanup(func() { ln.Close(); m.wg.Wait() })
	return m
}

func (m *testMaster) accept() {
	for {
		c, err := m.ln.Accept()
		if err != nil {
			return
		}
		m.wg.Go(func() { defer c.Close(); m.serve(c) })
	}
}

func (m *testMaster) dial(ctx context.Context) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, "tcp", m.ln.Addr().String())
}

func (m *testMaster) serve(c net.Conn) {
	r := bufio.NewReader(c)
	var magic [8]byte
	if _, err := io.ReadFull(r, magic[:]); err != nil || !haproto.IsDigestMagic(int64(binary.BigEndian.Uint64(magic[:]))) {
		return
	}
	for {
		q, err := haproto.ReadDigestRequest(r)
		if err != nil {
			return
		}
		rep, crcs, data := m.answer(q)
		if haproto.WriteDigestReply(c, rep, crcs, data) != nil {
			return
		}
	}
}

func (m *testMaster) segments() []haproto.DigestSegment {
	lay, _ := raw.New(m.segSize)
	ents, _ := os.ReadDir(m.dir)
	var segs []haproto.DigestSegment
	for _, e := range ents {
		base, ok := lay.ParseName(e.Name())
		if !ok || m.skipBase[base] {
			continue
		}
		cov, ok := m.covered[base]
		if !ok {
			cov = min(base+m.segSize, max(base, m.end))
		}
		segs = append(segs, haproto.DigestSegment{Base: base, Size: m.segSize, Name: e.Name(), Covered: cov})
	}
	sort.Slice(segs, func(i, j int) bool { return segs[i].Base < segs[j].Base })
	return segs
}

func (m *testMaster) answer(q haproto.DigestRequest) (haproto.DigestReply, []uint32, []byte) {
	refuse := func(msg string) (haproto.DigestReply, []uint32, []byte) {
		return haproto.DigestReply{Error: msg, Code: haproto.DigestCodeRange}, nil, nil
	}
	if q.Op == haproto.OpInfo {
		return haproto.DigestReply{Version: haproto.DigestVersion, BlockSize: lineage.BlockSize, End: m.end, Segments: m.segments()}, nil, nil
	}
	var seg *haproto.DigestSegment
	for _, s := range m.segments() {
		if q.From >= s.Base && q.From < s.Base+s.Size {
			seg = &s
		}
	}
	if seg == nil || q.To > seg.Base+seg.Size || q.To > m.end || (q.Op == haproto.OpDigests && q.To > seg.Covered) {
		return refuse("out of range")
	}
	b, err := os.ReadFile(filepath.Join(m.dir, seg.Name))
	if err != nil || int64(len(b)) < q.To-seg.Base {
		return refuse("short file")
	}
	p := b[q.From-seg.Base : q.To-seg.Base]
	if q.Op == haproto.OpFetch {
		m.fetched.Add(int64(len(p)))
		return haproto.DigestReply{}, nil, p
	}
	if (q.From-seg.Base)%lineage.BlockSize != 0 {
		return refuse("not a block start")
	}
	var crcs []uint32
	for off := 0; off < len(p); off += lineage.BlockSize {
		crcs = append(crcs, lineage.BlockCRC(p[off:min(len(p), off+lineage.BlockSize)]))
	}
	if crcs == nil {
		crcs = []uint32{}
	}
	return haproto.DigestReply{}, crcs, nil
}
