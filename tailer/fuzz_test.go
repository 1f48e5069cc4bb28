package tailer

import (
	"errors"
	"testing"
	"time"
)

// FuzzReadBounds: any (offset, max) a slave's report can lead to gives
// either a chunk inside [Oldest, End) that does not cross a segment, an
// empty chunk at End, or ErrGone / ErrBeyondEnd; never a panic or a fault.
func FuzzReadBounds(f *testing.F) {
	dir := f.TempDir()
	l := &testLayout{size: 1024, prealloc: true}
	w := newMmapWriter(f, dir, l, 2048)
	for i := range 9 {
		w.Append(payloadAt(i, 250))
	}
	end := w.Append(payloadAt(9, 3))
	tl := startTailer(f, dir, l, fastOpts)
	tl.Hint(end)
	st := waitState(f, tl, 5*time.Second, "end", func(s State) bool { return s.End == end })
	for _, seed := range [][2]int64{{0, 10}, {2048, 1 << 20}, {end, 1}, {end + 1, 1}, {3071, 2}, {-5, 3}, {2050, -1}, {1 << 62, 1 << 30}, {2100, 1<<63 - 1}} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, off, n int64) {
		c, err := tl.Read(off, int(n))
		defer c.Release()
		switch {
		case off < st.Oldest:
			if !errors.Is(err, ErrGone) {
				t.Fatalf("Read(%d) below Oldest: %v", off, err)
			}
		case off > st.End:
			if !errors.Is(err, ErrBeyondEnd) {
				t.Fatalf("Read(%d) past End: %v", off, err)
			}
		case err != nil:
			t.Fatalf("Read(%d, %d): %v", off, n, err)
		default:
			hi := off + int64(len(c.Data))
			if c.Offset != off || hi > st.End || int64(len(c.Data)) > max(n, 0) || (len(c.Data) > 0 && off/l.size != (hi-1)/l.size) {
				t.Fatalf("Read(%d, %d) = %d bytes", off, n, len(c.Data))
			}
			if off < st.End && n > 0 && len(c.Data) == 0 {
				t.Fatalf("Read(%d, %d) empty below End", off, n)
			}
		}
		if _, err := tl.IsBoundary(off); err != nil && off >= st.Oldest && off <= st.End {
			t.Fatalf("IsBoundary(%d): %v", off, err)
		}
	})
}
