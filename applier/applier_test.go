package applier

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/hasidecar/hasidecar/plugins"
)

const seg = 64 << 10

func TestApplyMatchesSource(t *testing.T) {
	for _, l := range layouts(seg) {
		t.Run(l.Info().Name, func(t *testing.T) {
			src, dst, state := dirs(t)
			end := int64(3*seg + seg/2)
			writeSource(t, l, src, 0, end)
			a := openT(t, dst, state, l, Options{Sync: SyncNone})
			stream(t, a, 0, end, 5000)
			if a.End() != end || a.Base() != 0 || a.Synced() != 0 {
				t.Fatalf("end %d base %d synced %d", a.End(), a.Base(), a.Synced())
			}
			if err := a.Close(); err != nil {
				t.Fatal(err)
			}
			if a.Synced() != end {
				t.Fatalf("synced %d after Close, want %d", a.Synced(), end)
			}
			sameDir(t, src, dst)
			if _, err := os.Stat(filepath.Join(state, CheckpointName)); err != nil {
				t.Fatalf("checkpoint: %v", err)
			}
		})
	}
}

func TestMidSegmentFirstChunk(t *testing.T) {
	for _, l := range layouts(seg) {
		t.Run(l.Info().Name, func(t *testing.T) {
			src, dst, state := dirs(t)
			from, end := int64(2*seg+1234), int64(4*seg+10)
			writeSource(t, l, src, from, end)
			a := openT(t, dst, state, l, Options{Sync: SyncEvery})
			stream(t, a, from, end, 32<<10)
			if a.Base() != from || a.End() != end || a.Synced() != end {
				t.Fatalf("base %d end %d synced %d, want %d %d %d", a.Base(), a.End(), a.Synced(), from, end, end)
			}
			if err := a.Close(); err != nil {
				t.Fatal(err)
			}
			sameDir(t, src, dst)
			b := openT(t, dst, state, l, Options{})
			defer b.Close()
			if b.Base() != from || b.End() != end {
				t.Fatalf("reopened: base %d end %d", b.Base(), b.End())
			}
		})
	}
}

func TestOffsetAndCrossingErrors(t *testing.T) {
	_, dst, state := dirs(t)
	a := openT(t, dst, state, newTestLayout(seg, true), Options{Sync: SyncNone})
	defer a.Close()
	if err := a.Apply(-1, []byte{1}); !errors.Is(err, ErrOffsetMismatch) {
		t.Fatalf("negative offset: %v", err)
	}
	if err := a.Apply(seg-10, payload(seg-10, seg+1)); !errors.Is(err, ErrCrossesSegment) {
		t.Fatalf("crossing on empty: %v", err)
	}
	if a.End() != 0 {
		t.Fatalf("end %d after refused chunks", a.End())
	}
	stream(t, a, 100, 200, 100)
	err := a.Apply(300, payload(300, 301))
	var oe *OffsetError
	if !errors.As(err, &oe) || !errors.Is(err, ErrOffsetMismatch) || oe.Want != 200 || oe.Got != 300 {
		t.Fatalf("mismatch: %v (%+v)", err, oe)
	}
	if err := a.Apply(200, payload(200, seg+1)); !errors.Is(err, ErrCrossesSegment) {
		t.Fatalf("crossing: %v", err)
	}
	if err := a.Apply(200, payload(200, seg)); err != nil {
		t.Fatalf("chunk up to the boundary: %v", err)
	}
	if err := a.Apply(seg, nil); err != nil {
		t.Fatalf("heartbeat at end: %v", err)
	}
	if err := a.Apply(seg+5, nil); !errors.As(err, &oe) {
		t.Fatalf("heartbeat off end: %v", err)
	}
	if a.End() != seg {
		t.Fatalf("end %d, want %d", a.End(), seg)
	}
}

func TestReopenAfterClose(t *testing.T) {
	for _, l := range layouts(seg) {
		t.Run(l.Info().Name, func(t *testing.T) {
			src, dst, state := dirs(t)
			mid, end := int64(seg+777), int64(3*seg)
			writeSource(t, l, src, 0, end)
			a := openT(t, dst, state, l, Options{Sync: SyncInterval, Interval: time.Hour})
			stream(t, a, 0, mid, 4096)
			if err := a.Close(); err != nil {
				t.Fatal(err)
			}
			if err := a.Apply(mid, []byte{1}); !errors.Is(err, fs.ErrClosed) {
				t.Fatalf("Apply after Close: %v", err)
			}
			if err := a.Close(); err != nil {
				t.Fatalf("second Close: %v", err)
			}
			a = openT(t, dst, state, l, Options{Sync: SyncNone})
			if a.End() != mid || a.Synced() != mid || a.Base() != 0 {
				t.Fatalf("reopened end %d synced %d base %d", a.End(), a.Synced(), a.Base())
			}
			stream(t, a, mid, end, 4096)
			if err := a.Close(); err != nil {
				t.Fatal(err)
			}
			sameDir(t, src, dst)
		})
	}
}

func TestSyncModes(t *testing.T) {
	l := newTestLayout(seg, true)
	t.Run("every", func(t *testing.T) {
		_, dst, state := dirs(t)
		a := openT(t, dst, state, l, Options{Sync: SyncEvery})
		defer a.Close()
		for off := int64(0); off < 3000; off += 1000 {
			stream(t, a, off, off+1000, 1000)
			if a.Synced() != off+1000 {
				t.Fatalf("synced %d after Apply up to %d", a.Synced(), off+1000)
			}
		}
	})
	t.Run("interval", func(t *testing.T) {
		_, dst, state := dirs(t)
		a := openT(t, dst, state, l, Options{Sync: SyncInterval, Interval: time.Minute})
		defer a.Close()
		stream(t, a, 0, 1000, 1000)
		now := time.Now()
		if err := a.MaybeSync(now); err != nil || a.Synced() != 0 {
			t.Fatalf("MaybeSync before the interval: %v, synced %d", err, a.Synced())
		}
		if err := a.MaybeSync(now.Add(2 * time.Minute)); err != nil || a.Synced() != 1000 {
			t.Fatalf("MaybeSync after the interval: %v, synced %d", err, a.Synced())
		}
	})
	t.Run("none", func(t *testing.T) {
		_, dst, state := dirs(t)
		a := openT(t, dst, state, l, Options{Sync: SyncNone})
		defer a.Close()
		stream(t, a, 0, 1000, 1000)
		if err := a.MaybeSync(time.Now().Add(time.Hour)); err != nil || a.Synced() != 0 {
			t.Fatalf("MaybeSync with SyncNone: %v, synced %d", err, a.Synced())
		}
		if err := a.Sync(); err != nil || a.Synced() != 1000 {
			t.Fatalf("Sync: %v, synced %d", err, a.Synced())
		}
	})
}

func TestParseSync(t *testing.T) {
	cases := []struct {
		in   string
		mode SyncMode
		d    time.Duration
		bad  bool
	}{
		{"every", SyncEvery, 0, false},
		{" None ", SyncNone, 0, false},
		{"interval", SyncInterval, DefaultInterval, false},
		{"100ms", SyncInterval, 100 * time.Millisecond, false},
		{"interval=2s", SyncInterval, 2 * time.Second, false},
		{"0s", 0, 0, true},
		{"-1s", 0, 0, true},
		{"sometimes", 0, 0, true},
		{"", 0, 0, true},
	}
	for _, c := range cases {
		m, d, err := ParseSync(c.in)
		if c.bad {
			if !errors.Is(err, ErrBadOptions) {
				t.Errorf("ParseSync(%q): err %v, want ErrBadOptions", c.in, err)
			}
			continue
		}
		if err != nil || m != c.mode || d != c.d {
			t.Errorf("ParseSync(%q) = %v, %v, %v; want %v, %v", c.in, m, d, err, c.mode, c.d)
		}
	}
}

func TestLayoutMismatch(t *testing.T) {
	_, dst, state := dirs(t)
	a := openT(t, dst, state, newTestLayout(seg, true), Options{})
	stream(t, a, 0, 100, 100)
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	for _, l := range []plugins.Layout{
		newTestLayout(2*seg, true),
		newTestLayout(seg, false),
		testLayout{plugins.Info{Name: "other", SegmentSize: seg, Preallocated: true}},
	} {
		_, err := Open(zaptest.NewLogger(t), dst, state, l, Options{})
		if !errors.Is(err, ErrLayoutMismatch) {
			t.Fatalf("Open with %s: %v, want ErrLayoutMismatch", l.Info(), err)
		}
	}
	b := openT(t, dst, state, newTestLayout(seg, true), Options{})
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestOpenErrors(t *testing.T) {
	_, dst, state := dirs(t)
	l := newTestLayout(seg, true)
	a := openT(t, dst, state, l, Options{})
	if _, err := Open(nil, dst, state, l, Options{}); !errors.Is(err, ErrBusy) {
		t.Fatalf("second Open: %v, want ErrBusy", err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(nil, dst, filepath.Join(file, "state"), l, Options{}); err == nil {
		t.Fatal("Open with a state dir under a file succeeded")
	}
	if _, err := Open(nil, dst, state, l, Options{Sync: SyncMode(9)}); !errors.Is(err, ErrBadOptions) {
		t.Fatalf("bad sync mode: %v", err)
	}
	if _, err := Open(nil, dst, state, newTestLayout(0, true), Options{}); !errors.Is(err, plugins.ErrBadConfig) {
		t.Fatalf("bad layout: %v", err)
	}
}

// TestSegmentPathOccupied injects a real create failure: a directory sits
// where the next segment file must go. Once it is removed, the same chunk
// applies.
func TestSegmentPathOccupied(t *testing.T) {
	for _, l := range layouts(seg) {
		t.Run(l.Info().Name, func(t *testing.T) {
			src, dst, state := dirs(t)
			writeSource(t, l, src, 0, 2*seg)
			a := openT(t, dst, state, l, Options{Sync: SyncEvery})
			defer a.Close()
			stream(t, a, 0, seg, 8192)
			blocker := filepath.Join(dst, l.SegmentName(seg))
			if err := os.Mkdir(blocker, 0o755); err != nil {
				t.Fatal(err)
			}
			err := a.Apply(seg, payload(seg, seg+100))
			var ie *IOError
			if !errors.As(err, &ie) || ie.Path != blocker || ie.Offset != seg {
				t.Fatalf("Apply into an occupied path: %v", err)
			}
			if a.End() != seg || a.Synced() != seg {
				t.Fatalf("end %d synced %d after the failure", a.End(), a.Synced())
			}
			if err := os.Remove(blocker); err != nil {
				t.Fatal(err)
			}
			stream(t, a, seg, 2*seg, 8192)
			if err := a.Close(); err != nil {
				t.Fatal(err)
			}
			sameDir(t, src, dst)
		})
	}
}

// TestConcurrentReaders: the slave's ack and status paths read End and
// Synced and drive MaybeSync while the network loop applies.
func TestConcurrentReaders(t *testing.T) {
	_, dst, state := dirs(t)
	a := openT(t, dst, state, newTestLayout(seg, true), Options{Sync: SyncInterval, Interval: time.Nanosecond})
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		var err error
		for ctx.Err() == nil && err == nil {
			if s, e := a.Synced(), a.End(); s > e {
				err = fmt.Errorf("synced %d > end %d", s, e)
			}
			if e := a.MaybeSync(time.Now()); e != nil && !errors.Is(e, fs.ErrClosed) {
				err = e
			}
		}
		done <- err
	}()
	stream(t, a, 0, 3*seg, 1000)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if a.Synced() != 3*seg {
		t.Fatalf("synced %d", a.Synced())
	}
}
