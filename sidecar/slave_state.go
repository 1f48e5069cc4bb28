package sidecar

import (
	"errors"
	"fmt"
	"time"
)

// ErrNotReady marks a role that cannot do its job now (Ready).
var ErrNotReady = errors.New("sidecar: not ready")

// startStreaming sets the state a session starts in once the master
// accepted it: streaming when the master's end at its hello is within
// streamGap of the slave's end, else catching-up (a classic master says
// nothing about its end: catching-up until its first heartbeat).
func (s *Slave) startStreaming(masterEnd int64) {
	s.accepted.Do(func() { close(s.acceptedC) })
	s.helloEnd.Store(masterEnd)
	s.lastFrame.Store(time.Now().UnixNano())
	end := s.End()
	switch {
	case masterEnd > 0 && masterEnd-end <= streamGap:
		s.setState(SlaveStreaming, "")
	case masterEnd > 0:
		s.setState(SlaveCatchingUp, fmt.Sprintf("%d bytes behind the master's end %d at connect", masterEnd-end, masterEnd))
	default:
		s.setState(SlaveCatchingUp, "the master did not say where its data ends: catching up until its first heartbeat")
	}
}

// onFrame moves the state on a frame that applied. A heartbeat means the
// master had nothing more to send: the slave is at its end. Data after a
// stall resumes catching up; reaching the end the hello announced is
// streaming.
func (s *Slave) onFrame(size int32, end int64) {
	s.lastFrame.Store(time.Now().UnixNano())
	cur, _, _ := s.state.get()
	switch {
	case cur == SlaveStreaming:
	case size == 0:
		s.setState(SlaveStreaming, "")
	case cur == SlaveStalled || cur == SlaveCatchingUp:
		if he := s.helloEnd.Load(); he > 0 && end >= he {
			s.setState(SlaveStreaming, "")
		} else if cur == SlaveStalled {
			s.setState(SlaveCatchingUp, "data arrives again after a stall")
		}
	}
}

// checkStall marks a session that received nothing, not even a
// heartbeat, for StallAfter: the master or the network stopped.
func (s *Slave) checkStall(now time.Time) {
	cur, _, _ := s.state.get()
	if cur != SlaveStreaming && cur != SlaveCatchingUp {
		return
	}
	quiet := now.Sub(time.Unix(0, s.lastFrame.Load()))
	if quiet < s.cfg.StallAfter {
		return
	}
	s.setState(SlaveStalled, fmt.Sprintf("nothing received from master %s for %s (no data, no heartbeat); slave end %d, master end at connect %d",
		s.cfg.Master, quiet.Truncate(time.Millisecond), s.End(), s.helloEnd.Load()))
}

// Ready is nil while the slave streams: at the master's end and receiving.
// Otherwise it says which state the slave is in and why (ErrNotReady).
func (s *Slave) Ready() error {
	if bad := s.scrubbed.Load(); bad != nil {
		return fmt.Errorf("slave %s is %s: %s: %w", s.cfg.Name, SlaveDiverged, *bad, ErrNotReady)
	}
	st, reason, since := s.state.get()
	if st == SlaveStreaming {
		return nil
	}
	return fmt.Errorf("slave %s is %s since %s: %s: %w", s.cfg.Name, st, since.UTC().Format(time.RFC3339), reason, ErrNotReady)
}

// Healthy is the slave's liveness: nil unless it is in a state it cannot
// leave by itself (refused, needs a reseed, diverged) or cannot write.
func (s *Slave) Healthy() error {
	st, reason, _ := s.state.get()
	switch st {
	case SlaveRefused, SlaveNeedsReseed, SlaveDiverged, SlaveWriteFailed:
		return fmt.Errorf("%s: %s", st, reason)
	}
	return nil
}
