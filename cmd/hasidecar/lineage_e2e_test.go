package main

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hasidecar/hasidecar/plugins/rocketmq"
	"github.com/hasidecar/hasidecar/sidecar/digest"
	"github.com/hasidecar/hasidecar/sidecar/lineage"
	"github.com/hasidecar/hasidecar/sidecar/sidecartest"
)

const linSeg = 4 << 20

// TestE2EMasterLineageSurvivesARestart: the master binary hashes its
// directory into DIR.hasidecar/lineage, serves the digests over its port,
// and after a restart keeps the sealed segments' lineage instead of
// reading them again (hasidecar_master_lineage_hashed_bytes_total counts
// what a run hashed).
func TestE2EMasterLineageSurvivesARestart(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "commitlog")
	w, err := rocketmq.OpenWriter(nil, dir, rocketmq.WriterOptions{SegmentSize: linSeg})
	if err != nil {
		t.Fatal(err)
	}
	body := make([]byte, 256<<10)
	var end int64
	for i := range 45 {
		body[i] = byte(i)
		if end, err = w.Append(&rocketmq.Message{Topic: "t", Body: body}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	listen, mx := freeAddr(t), freeAddr(t)
	args := []string{"master", "--dir", dir, "--segment-size", "4MiB", "--listen", listen, "--metrics-listen", mx}

	m := start(t, "master", args...)
	if h := waitLineage(t, mx, end); h != float64(end) {
		t.Fatalf("first run hashed %v bytes, want %d", h, end)
	}
	checkDigests(t, listen, dir, end)
	if err := m.stop(); err != nil {
		t.Fatalf("master exit: %v", err)
	}
	lins, _ := filepath.Glob(filepath.Join(dir+".hasidecar", "lineage", "*"+lineage.Ext))
	if len(lins) != 3 {
		t.Fatalf("lineage files %v, want one per segment", lins)
	}

	start(t, "master again", args...)
	// Only the live segment's partial block was in memory alone.
	if h := waitLineage(t, mx, end); h >= lineage.BlockSize {
		t.Fatalf("restart hashed %v bytes, want less than one block: sealed segments were read again", h)
	}
	if v, _ := gauge(scrape(t, mx), "hasidecar_master_lineage_rehashed_segments_total"); v != 0 {
		t.Fatalf("restart re-hashed %v segments, want 0", v)
	}
	checkDigests(t, listen, dir, end)
}

// waitLineage waits until the master's lineage covers end and returns the
// bytes it hashed.
func waitLineage(t *testing.T, mx string, end int64) float64 {
	t.Helper()
	var hashed float64
	sidecartest.Eventually(t, 20*time.Second, "master lineage covers the directory", func() bool {
		f := scrape(t, mx)
		cov, ok := gauge(f, "hasidecar_master_lineage_covered_offset")
		h, ok2 := gauge(f, "hasidecar_master_lineage_hashed_bytes_total")
		hashed = h
		return ok && ok2 && int64(cov) == end
	})
	return hashed
}

// checkDigests compares the master's digests of every segment with the
// CRCs of its files.
func checkDigests(t *testing.T, listen, dir string, end int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	c, err := digest.Dial(ctx, func(ctx context.Context) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "tcp", listen)
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	info, err := c.Info()
	if err != nil {
		t.Fatal(err)
	}
	if info.End != end || len(info.Segments) != 3 {
		t.Fatalf("info %+v, want end %d and 3 segments", info, end)
	}
	for _, s := range info.Segments {
		crcs, err := c.Digests(s.Base, s.Covered)
		if err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(filepath.Join(dir, s.Name))
		if err != nil {
			t.Fatal(err)
		}
		data = data[:s.Covered-s.Base]
		for i, crc := range crcs {
			blk := data[i*lineage.BlockSize : min((i+1)*lineage.BlockSize, len(data))]
			if want := lineage.BlockCRC(blk); crc != want {
				t.Fatalf("segment %s block %d: master says %08x, file %08x", s.Name, i, crc, want)
			}
		}
	}
}
