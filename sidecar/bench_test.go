package sidecar

import (
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/hasidecar/hasidecar/sidecar/sidecartest"
)

// benchBytes is the size of the directory the catch-up benchmarks copy.
const benchBytes = 128 << 20

// BenchmarkCatchUp measures an empty in-process slave catching up with a
// master over loopback TCP (tailer, frames, applier with fsync none).
// Compare with BenchmarkRawTCPCopy, which moves the same files with no
// protocol at all.
func BenchmarkCatchUp(b *testing.B) {
	mdir := filepath.Join(b.TempDir(), "master")
	end := writeRecords(b, mdir, 16<<20, benchBytes/1100, 1000)
	tm := startMasterSeg(b, mdir, 16<<20)
	sidecartest.Eventually(b, 30*time.Second, "master scan", func() bool { return tm.tail.State().End == end })
	b.SetBytes(end)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		sdir := filepath.Join(b.TempDir(), "slave")
		ts := startSlave(b, sdir, 16<<20, SlaveConfig{Master: tm.addr})
		sidecartest.Eventually(b, time.Minute, "catch-up", func() bool { return ts.s.End() == end })
		b.StopTimer()
		ts.stop()
		ts.app.Close()
		os.RemoveAll(sdir)
		b.StartTimer()
	}
}

// BenchmarkRawTCPCopy is the baseline: read the same segment files, send
// them over one loopback connection, write them into files.
func BenchmarkRawTCPCopy(b *testing.B) {
	mdir := filepath.Join(b.TempDir(), "master")
	writeRecords(b, mdir, 16<<20, benchBytes/1100, 1000)
	names, _ := os.ReadDir(mdir)
	total := int64(0)
	for _, n := range names {
		st, _ := os.Stat(filepath.Join(mdir, n.Name()))
		total += st.Size()
	}
	b.SetBytes(total)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rawCopyOnce(b, mdir, b.TempDir(), names)
	}
}

func rawCopyOnce(b *testing.B, src, dst string, names []os.DirEntry) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	var wg sync.WaitGroup
	wg.Go(func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		buf := make([]byte, 1<<20)
		for _, n := range names {
			f, _ := os.Open(filepath.Join(src, n.Name()))
			io.CopyBuffer(struct{ io.Writer }{c}, struct{ io.Reader }{f}, buf) // plain read/write loop
			f.Close()
		}
	})
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 1<<20)
	for _, n := range names {
		st, _ := os.Stat(filepath.Join(src, n.Name()))
		f, _ := os.Create(filepath.Join(dst, n.Name()))
		io.CopyBuffer(struct{ io.Writer }{f}, io.LimitReader(c, st.Size()), buf) // plain read/write loop
		f.Close()
	}
	c.Close()
	wg.Wait()
}
