package onlineverify

import (
	"context"
	"time"
)

// pacer holds reading to a rate: after n bytes in all, the next read may
// start at start + n/rate. Rate 0 means unlimited. Sleeping up to the due
// time rather than per read keeps the average exact whatever the read size.
type pacer struct {
	rate  float64 // bytes per second
	start time.Time
	n     int64
}

func newPacer(rate int64) *pacer { return &pacer{rate: float64(rate), start: time.Now()} }

// take accounts for n bytes read and waits until the rate allows more.
func (p *pacer) take(ctx context.Context, n int64) error {
	p.n += n
	if p.rate <= 0 {
		return ctx.Err()
	}
	due := p.start.Add(time.Duration(float64(p.n) / p.rate * float64(time.Second)))
	d := time.Until(due)
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
