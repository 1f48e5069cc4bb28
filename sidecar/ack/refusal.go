package ack

import (
	"time"

	"go.uber.org/zap"
)

// refusalLogEvery spaces the "connection refused" lines.
const refusalLogEvery = 10 * time.Second

// refusalLog rate-limits the log line of connections refused over the cap.
type refusalLog struct {
	last     time.Time
	unlogged int
}

func (r *refusalLog) note(log *zap.Logger, maxConns int) {
	r.unlogged++
	now := time.Now()
	if now.Sub(r.last) < refusalLogEvery {
		return
	}
	log.Error("ack connection refused: too many open connections (--ack-max-conns)",
		zap.Int("max_conns", maxConns), zap.Int("refused_since_last_log", r.unlogged))
	r.last, r.unlogged = now, 0
}
