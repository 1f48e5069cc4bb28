package sidecar

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/hasidecar/hasidecar/sidecar/digest"
	"github.com/hasidecar/hasidecar/sidecar/haproto"
	"github.com/hasidecar/hasidecar/sidecar/lineage"
	"github.com/hasidecar/hasidecar/sidecar/sidecartest"
)

func dialDigest(t *testing.T, addr string) *digest.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := digest.Dial(ctx, func(ctx context.Context) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "tcp", addr)
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func digestFixture(t *testing.T, cfg MasterConfig) (*testMaster, []byte, int64) {
	t.Helper()
	d := t.TempDir()
	dir := filepath.Join(d, "master")
	end := writeRecords(t, dir, lineageSeg, 45, 256<<10)
	tm, _ := startLineageMaster(t, dir, filepath.Join(d, "lineage"), cfg, testLogger(t))
	waitHashed(t, tm, end)
	return tm, dirBytes(t, dir, testLayout(t, lineageSeg), end), end
}

func TestDigestChannelAnswers(t *testing.T) {
	tm, data, end := digestFixture(t, MasterConfig{})
	c := dialDigest(t, tm.addr)
	info, err := c.Info()
	if err != nil {
		t.Fatal(err)
	}
	if info.End != end || info.BlockSize != lineage.BlockSize || len(info.Segments) != 3 || info.Version != haproto.DigestVersion {
		t.Fatalf("info %+v, want end %d, 3 segments", info, end)
	}
	if s := info.Segments[2]; s.Base != 2*lineageSeg || s.Covered != end {
		t.Errorf("live segment %+v, want covered %d", s, end)
	}
	// The live segment's blocks, the last one partial.
	base := int64(2 * lineageSeg)
	crcs, err := c.Digests(base, end)
	if err != nil {
		t.Fatal(err)
	}
	for i, crc := range crcs {
		from := base + int64(i)*lineage.BlockSize
		if want := lineage.BlockCRC(data[from:min(from+lineage.BlockSize, end)]); crc != want {
			t.Errorf("block %d: crc %08x, want %08x", i, crc, want)
		}
	}
	got, err := c.Fetch(lineageSeg-100, lineageSeg)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data[lineageSeg-100:lineageSeg]) {
		t.Error("fetched bytes differ from the file's")
	}
	st := tm.m.Stats().Digest
	if st.Info != 1 || st.Digests != 1 || st.Fetch != 1 || st.FetchedBytes != 100 || st.Refused != 0 {
		t.Errorf("digest stats %+v", st)
	}
}

// Requests the master cannot answer get a refusal and the connection
// stays usable.
func TestDigestChannelRefusesBadRanges(t *testing.T) {
	tm, _, end := digestFixture(t, MasterConfig{})
	c := dialDigest(t, tm.addr)
	cases := []struct {
		name     string
		call     func() error
		wantCode string
	}{
		{"digests not from a block start", func() error { _, err := c.Digests(100, 200); return err }, haproto.DigestCodeBadRequest},
		{"digests beyond the end", func() error { _, err := c.Digests(2*lineageSeg, end+1); return err }, haproto.DigestCodeRange},
		{"digests across segments", func() error { _, err := c.Digests(0, lineageSeg+1); return err }, haproto.DigestCodeRange},
		{"fetch across segments", func() error { _, err := c.Fetch(lineageSeg-1, lineageSeg+1); return err }, haproto.DigestCodeRange},
		{"fetch beyond the end", func() error { _, err := c.Fetch(end-1, end+1); return err }, haproto.DigestCodeRange},
	}
	for _, tc := range cases {
		var de *haproto.DigestError
		if err := tc.call(); !errors.As(err, &de) || de.Code != tc.wantCode {
			t.Errorf("%s: error %v, want a %s refusal", tc.name, err, tc.wantCode)
		}
	}
	if _, err := c.Info(); err != nil {
		t.Fatalf("connection unusable after refusals: %v", err)
	}
	if got := tm.m.Stats().Digest.Refused; got != int64(len(cases)) {
		t.Errorf("refused %d, want %d", got, len(cases))
	}
}

// A malformed request ends its connection, and only it: the master keeps
// serving digests and slaves.
func TestDigestChannelMalformedRequestsEndTheConnection(t *testing.T) {
	tm, _, _ := digestFixture(t, MasterConfig{})
	bad := map[string][]byte{
		"huge length":  binary.BigEndian.AppendUint32(nil, 1<<30),
		"not json":     append(binary.BigEndian.AppendUint32(nil, 5), "{{{{{"...),
		"unknown op":   lenDoc(`{"op":"delete","from":0,"to":1}`),
		"negative":     lenDoc(`{"op":"fetch","from":-5,"to":1}`),
		"span too big": lenDoc(`{"op":"fetch","from":0,"to":1073741824}`),
		"to below":     lenDoc(`{"op":"digests","from":10,"to":1}`),
	}
	for name, req := range bad {
		conn, err := net.Dial("tcp", tm.addr)
		if err != nil {
			t.Fatal(err)
		}
		conn.SetDeadline(time.Now().Add(5 * time.Second))
		var magic [8]byte
		haproto.PutReport(magic[:], haproto.DigestMagic)
		if _, err := conn.Write(append(magic[:], req...)); err != nil {
			t.Fatal(err)
		}
		if n, err := io.Copy(io.Discard, conn); err != nil || n != 0 {
			t.Errorf("%s: read %d bytes, error %v; want the connection closed without a reply", name, n, err)
		}
		conn.Close()
	}
	if _, err := dialDigest(t, tm.addr).Info(); err != nil {
		t.Fatalf("master stopped serving digests: %v", err)
	}
}

func lenDoc(s string) []byte { return append(binary.BigEndian.AppendUint32(nil, uint32(len(s))), s...) }

func TestDigestChannelCap(t *testing.T) {
	tm, _, _ := digestFixture(t, MasterConfig{MaxDigestConns: 1, MaxSlaves: 1})
	first := dialDigest(t, tm.addr)
	if _, err := first.Info(); err != nil {
		t.Fatal(err)
	}
	second := dialDigest(t, tm.addr)
	var de *haproto.DigestError
	if _, err := second.Info(); !errors.As(err, &de) || de.Code != haproto.DigestCodeBusy {
		t.Fatalf("second connection: %v, want a busy refusal", err)
	}
	if _, err := second.Info(); err == nil {
		t.Fatal("connection over the cap still served")
	}
	if _, err := first.Info(); err != nil {
		t.Fatalf("first connection: %v", err)
	}
	// Digest connections do not take a slave's slot.
	rep, _ := lineageSession(t, tm.addr, testLayout(t, lineageSeg), nil)
	if rep.Error != "" {
		t.Fatalf("slave refused while the digest slot is taken: %q", rep.Error)
	}
}

func TestDigestWithoutLineage(t *testing.T) {
	d := t.TempDir()
	dir := filepath.Join(d, "master")
	end := writeRecords(t, dir, lineageSeg, 5, 1000)
	tm := startMasterWith(t, dir, lineageSeg, MasterConfig{}, testLogger(t))
	c := dialDigest(t, tm.addr)
	var info haproto.DigestReply
	sidecartest.Eventually(t, 10*time.Second, "digest info shows the data", func() bool {
		var err error
		info, err = c.Info()
		return err == nil && info.End == end
	})
	if info.Segments[0].Covered != 0 {
		t.Errorf("covered %d without lineage, want 0", info.Segments[0].Covered)
	}
	var de *haproto.DigestError
	if _, err := c.Digests(0, 100); !errors.As(err, &de) || de.Code != haproto.DigestCodeRange {
		t.Fatalf("digests without lineage: %v, want a range refusal", err)
	}
	if b, err := c.Fetch(0, 10); err != nil || len(b) != 10 {
		t.Fatalf("fetch without lineage: %d bytes, %v", len(b), err)
	}
}
