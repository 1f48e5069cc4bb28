package applier

import (
	"fmt"
	"testing"
	"time"

	"go.uber.org/zap"
)

// BenchmarkApply writes 32 KiB chunks (the HA transfer batch) into 64 MiB
// preallocated segments under each sync policy.
func BenchmarkApply(b *testing.B) {
	const chunk, size = 32 << 10, 64 << 20
	for _, mode := range []SyncMode{SyncNone, SyncInterval, SyncEvery} {
		b.Run(fmt.Sprint(mode), func(b *testing.B) {
			dir, state := b.TempDir(), b.TempDir()
			a, err := Open(zap.NewNop(), dir, state, newTestLayout(size, true), Options{Sync: mode, Interval: DefaultInterval})
			if err != nil {
				b.Fatal(err)
			}
			data := payload(0, chunk)
			b.SetBytes(chunk)
			b.ResetTimer()
			off := int64(0)
			for i := 0; i < b.N; i++ {
				if err := a.Apply(off, data); err != nil {
					b.Fatal(err)
				}
				if err := a.MaybeSync(timeNow()); err != nil {
					b.Fatal(err)
				}
				off += chunk
			}
			b.StopTimer()
			if err := a.Close(); err != nil {
				b.Fatal(err)
			}
		})
	}
}

var timeNow = time.Now
