package meta

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// BenchmarkSyncUnchanged is the steady state: a round over files that did
// not change (list, hash locally, nothing fetched). 20 files of 64 KiB,
// about RocketMQ's config/ directory on a busy broker.
func BenchmarkSyncUnchanged(b *testing.B) {
	master, slave := b.TempDir(), b.TempDir()
	data := []byte(`"` + strings.Repeat("x", 64<<10-2) + `"`)
	for i := range 20 {
		name := filepath.Join(master, fmt.Sprintf("f%02d.json", i))
		if err := os.WriteFile(name, data, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	ctx := b.Context()
	dial := startServer(b, ServerOptions{Dir: master})
	c := NewClient(nil, ClientOptions{Dir: slave, Dial: dial})
	// The first round copies everything, after the files' quiet period.
	if _, err := c.SyncNow(ctx); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(20 * 64 << 10)
	b.ResetTimer()
	for b.Loop() {
		res, err := c.SyncNow(ctx)
		if err != nil || len(res.Unchanged) != 20 {
			b.Fatalf("%+v %v", res, err)
		}
	}
}
