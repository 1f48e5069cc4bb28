package pace

import (
	"context"
	"testing"
	"time"
)

// The average holds: 4 takes of rate/4 bytes take about a second.
func TestTakeHoldsTheRate(t *testing.T) {
	p := New(1 << 20)
	start := time.Now()
	for range 4 {
		if err := p.Take(t.Context(), 256<<10); err != nil {
			t.Fatal(err)
		}
	}
	if got := time.Since(start); got < 900*time.Millisecond {
		t.Fatalf("4 x 256 KiB at 1 MiB/s took %v, want about 1 s", got)
	}
}

// After a pause the pacer does not let a burst through.
func TestTakeDoesNotBurstAfterAPause(t *testing.T) {
	p := New(1 << 20)
	p.start = time.Now().Add(-10 * time.Second) // as if it paused for 10 s
	p.Take(t.Context(), 1)
	start := time.Now()
	if err := p.Take(t.Context(), 512<<10); err != nil {
		t.Fatal(err)
	}
	if got := time.Since(start); got < 400*time.Millisecond {
		t.Fatalf("512 KiB after a pause took %v: a burst, want about 0.5 s", got)
	}
}

func TestTakeUnlimitedAndCancelled(t *testing.T) {
	if err := New(0).Take(t.Context(), 1<<40); err != nil {
		t.Fatalf("unlimited: %v", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := New(1).Take(ctx, 1<<20); err == nil {
		t.Fatal("a cancelled wait returned nil")
	}
}
