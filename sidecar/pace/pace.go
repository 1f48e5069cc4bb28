package pace

import (
	"context"
	"time"
)

// Pacer paces one loop; it is not safe for concurrent use.
type Pacer struct {
	rate  float64 // bytes per second
	start time.Time
	n     int64
}

// New returns a Pacer of rate bytes per second, counting from now.
func New(rate int64) *Pacer { return &Pacer{rate: float64(rate), start: time.Now()} }

// Take accounts for n bytes read and waits until the rate allows more; it
// returns ctx's error when ctx ends first.
func (p *Pacer) Take(ctx context.Context, n int64) error {
	p.n += n
	if p.rate <= 0 {
		return ctx.Err()
	}
	d := time.Until(p.start.Add(time.Duration(float64(p.n) / p.rate * float64(time.Second))))
	if d < -time.Second {
		p.start, p.n = time.Now(), 0 // after a pause: no burst
	}
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
