package applier

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"go.uber.org/zap/zaptest"

	"github.com/hasidecar/hasidecar/plugins"
	"github.com/hasidecar/hasidecar/plugins/rocketmq"
)

// writeBroker fills dir with n RocketMQ records of varied sizes through the
// broker-like writer and returns the layout and the end offset.
func writeBroker(t *testing.T, dir string, size int64, n int) (plugins.Layout, int64) {
	t.Helper()
	w, err := rocketmq.OpenWriter(zaptest.NewLogger(t), dir, rocketmq.WriterOptions{SegmentSize: size})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		body := payload(int64(i), int64(i)+int64(100+i*37%3000))
		m := &rocketmq.Message{Topic: "t", QueueID: int32(i % 4), QueueOffset: int64(i), Body: body}
		if _, err := w.Append(m); err != nil {
			t.Fatal(err)
		}
	}
	end := w.End()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return w.Layout(), end
}

// ship sends the master's bytes in [from, to) to the applier in 32 KiB
// chunks cut at segment boundaries, as the master sidecar does.
func ship(t *testing.T, l plugins.Layout, src string, a *Applier, from, to int64) {
	t.Helper()
	info := l.Info()
	for off := from; off < to; {
		s := plugins.SegmentStart(info, off)
		n := min(32<<10, to-off, s+info.SegmentSize-off)
		b := make([]byte, n)
		f, err := os.Open(filepath.Join(src, l.SegmentName(s)))
		if err != nil {
			t.Fatal(err)
		}
		_, err = f.ReadAt(b, off-s)
		f.Close()
		if err != nil {
			t.Fatalf("read master at %d: %v", off, err)
		}
		if err := a.Apply(off, b); err != nil {
			t.Fatal(err)
		}
		off += n
	}
}

func TestRocketMQReplica(t *testing.T) {
	const size = 256 << 10
	src, dst, state := dirs(t)
	l, end := writeBroker(t, src, size, 600)
	if end < 3*size {
		t.Fatalf("writer end %d: want several segments", end)
	}
	if got := l.Info(); got.Name != "rocketmq" || !got.Preallocated || got.SegmentSize != size {
		t.Fatalf("layout info %s", got)
	}
	a := openT(t, dst, state, l, Options{Sync: SyncInterval})
	synced := end / 2
	ship(t, l, src, a, 0, synced)
	if err := a.Sync(); err != nil {
		t.Fatal(err)
	}
	applied := end - 1000
	ship(t, l, src, a, synced, applied)
	a.crash()

	// The journal proves the chunks applied after the sync.
	a = openT(t, dst, state, l, Options{Sync: SyncInterval})
	if a.End() != applied || a.Synced() != applied {
		t.Fatalf("recovered end %d synced %d, want %d", a.End(), a.Synced(), applied)
	}
	checkTail(t, l, dst, applied)
	ship(t, l, src, a, applied, end)
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	sameDir(t, src, dst)
}

// TestRocketMQSeededSlave: a copy of the master's directory without a
// checkpoint recovers its end with the rocketmq Scan, torn tail included.
func TestRocketMQSeededSlave(t *testing.T) {
	const size = 128 << 10
	src, dst, state := dirs(t)
	l, end := writeBroker(t, src, size, 300)
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	for s := int64(0); s < end; s += size {
		name := l.SegmentName(s)
		b, err := os.ReadFile(filepath.Join(src, name))
		if err != nil {
			t.Fatal(err)
		}
		if s+size > end {
			// A torn last record: half of a record's bytes past the end.
			copy(b[end-s:], []byte{0, 0, 1, 0, 0xDA, 0xA3, 0x20, 0xA7, 1, 2, 3})
		}
		if err := os.WriteFile(filepath.Join(dst, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	a := openT(t, dst, state, l, Options{})
	if a.End() != end || a.Base() != 0 {
		t.Fatalf("seeded: base %d end %d, want 0 %d", a.Base(), a.End(), end)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	sameDir(t, src, dst)
	other, err := rocketmq.New(rocketmq.Options{SegmentSize: size * 2})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Open(nil, dst, state, other, Options{}); !errors.Is(err, ErrLayoutMismatch) {
		t.Fatalf("Open with %s: %v, want ErrLayoutMismatch", other.Info(), err)
	}
}
