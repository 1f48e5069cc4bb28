package lineage

import (
	"errors"
	"sync"
	"testing"
)

// TestConcurrentUse runs Append on one segment while Sync, Blocks,
// Rollup, Stamp and Segments run beside it; -race checks the locking
// and the result must equal a single-threaded hash.
func TestConcurrentUse(t *testing.T) {
	dir := t.TempDir()
	s := small(t, dir)
	s.Segment(0, 1<<16, "a")
	data := make([]byte, 1<<16)
	for i := range data {
		data[i] = byte(i * 7)
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if err := s.Sync(); err != nil {
				t.Error(err)
				return
			}
			cov, _ := s.Covered(0)
			if _, err := s.Blocks(0, 0, cov); err != nil {
				// An Append between Covered and Blocks may complete the
				// block cov cuts: the store keeps no prefix CRC of a
				// complete block, so that is ErrRange, as documented.
				if now, _ := s.Covered(0); !errors.Is(err, ErrRange) || now == cov {
					t.Error(err)
					return
				}
			}
			s.Rollup(0, int(cov/16))
			s.Segments()
			s.Stamp(0, cov, cov)
		}
	}()
	for off := 0; off < len(data); off += 100 {
		if err := s.Append(0, int64(off), data[off:min(off+100, len(data))]); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	s.Close()
	s2 := small(t, dir)
	crcs, err := s2.Blocks(0, 0, 1<<16)
	if err != nil || !equal(crcs, blocksOf(data, 0, 16)) {
		t.Fatalf("after concurrent use: %v", err)
	}
}

// BenchmarkAppend measures the hashing cost of Append with real 1 MiB
// blocks, against a plain CRC-32C of the same bytes in the same run.
func BenchmarkAppend(b *testing.B) {
	p := make([]byte, 256<<10)
	b.Run("append", func(b *testing.B) {
		s, err := Open(nil, b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		s.Segment(0, MaxSegment, "a")
		b.SetBytes(int64(len(p)))
		for i := 0; i < b.N; i++ {
			if err := s.Append(0, int64(i)*int64(len(p)), p); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("crc32c", func(b *testing.B) {
		b.SetBytes(int64(len(p)))
		for i := 0; i < b.N; i++ {
			BlockCRC(p)
		}
	})
}
