package tailer

import (
	"context"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/hasidecar/hasidecar/plugins"
	"github.com/hasidecar/hasidecar/plugins/rocketmq"
)

// BenchmarkCatchUp256MiB: a directory with 256 MiB already written through
// mmap (64 MiB segments, 4 KiB records); measures how fast End reaches the
// writer's end and every byte is drained through Read in 32 KiB chunks.
func BenchmarkCatchUp256MiB(b *testing.B) {
	dir := b.TempDir()
	l := &testLayout{size: 64 << 20, prealloc: true}
	w := newMmapWriter(b, dir, l, 0)
	p := payloadAt(0, 4096-hdrSize)
	var end int64
	for end < 256<<20-8192 {
		end = w.Append(p)
	}
	b.SetBytes(end)
	b.ResetTimer()
	for range b.N {
		catchUp(b, dir, l, end)
	}
}

// BenchmarkCatchUp256MiBRocketMQ is the same with the rocketmq layout and
// its broker-like writer (CRC-checked records).
func BenchmarkCatchUp256MiBRocketMQ(b *testing.B) {
	dir := b.TempDir()
	w, err := rocketmq.OpenWriter(nil, dir, rocketmq.WriterOptions{SegmentSize: 64 << 20})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	m := &rocketmq.Message{Topic: "bench", Body: payloadAt(0, 4000)}
	var end int64
	for end < 256<<20-8192 {
		if end, err = w.Append(m); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(end)
	b.ResetTimer()
	for range b.N {
		catchUp(b, dir, w.Layout(), end)
	}
}

func catchUp(b *testing.B, dir string, l plugins.Layout, end int64) {
	tl := New(zap.NewNop(), dir, l, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	done := make(chan error, 1)
	go func() { done <- tl.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			b.Error(err)
		}
	}()
	tl.Hint(end)
	waitState(b, tl, time.Minute, "end", func(s State) bool { return s.End == end })
	for off := int64(0); off < end; {
		c, err := tl.Read(off, 32<<10)
		if err != nil || len(c.Data) == 0 {
			b.Fatalf("Read(%d): %d bytes, %v", off, len(c.Data), err)
		}
		off += int64(len(c.Data))
		c.Release()
	}
}
