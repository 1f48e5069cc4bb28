package sidecar

import (
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/hasidecar/hasidecar/applier"
	"github.com/hasidecar/hasidecar/plugins"
	"github.com/hasidecar/hasidecar/sidecar/haproto"
)

// session runs one connection: hello, first report, then receive and report.
func (s *Slave) session(ctx context.Context) error {
	// Before dialling: re-hashing a changed segment may take a while, and
	// the master waits for the hello only so long.
	s.refreshLineage()
	conn, err := s.Dial(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := s.prepare(); err != nil {
		return err
	}
	masterEnd := int64(0)
	s.reports.Store(haproto.ReportsClassic)
	if !s.cfg.Classic {
		rep, err := s.hello(conn)
		if err != nil {
			return err
		}
		masterEnd = rep.End
		if err := s.agreeReports(rep); err != nil {
			return err
		}
	}
	s.startStreaming(masterEnd)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	var repErr error
	wg.Go(func() {
		repErr = s.report(ctx, conn)
		conn.Close()
	})
	recvErr := s.receive(ctx, conn)
	cancel()
	conn.Close()
	wg.Wait()
	if recvErr != nil {
		return recvErr
	}
	return repErr
}

// prepare makes the written end durable before it is reported when the
// slave acknowledges only fsynced bytes: the first report counts as an
// acknowledgement on the master.
func (s *Slave) prepare() error {
	if s.cfg.AckAfter != AckAfterFsync {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.app.Sync(); err != nil {
		return fmt.Errorf("sync before reporting: %w", err)
	}
	s.observeSynced()
	return nil
}

// hello announces the name, the layout, the end and a digest of the
// slave's tail, and returns the master's accepting reply.
func (s *Slave) hello(conn net.Conn) (haproto.HelloReply, error) {
	if s.cfg.Name != "" {
		if err := haproto.CheckName(s.cfg.Name); err != nil {
			return haproto.HelloReply{}, fmt.Errorf("cannot say hello: %w: %w", err, ErrRefused)
		}
	}
	end := s.End()
	from, crc, err := s.tailDigest(end)
	if err != nil {
		return haproto.HelloReply{}, err
	}
	h := haproto.Hello{Version: haproto.Version, Layout: haproto.FromInfo(s.layout.Info()), End: end,
		TailStart: from, TailCRC: crc, Name: s.cfg.Name, Proofs: true, Reports: reportsOffered}
	offer, err := s.offerLineage(end)
	if err != nil {
		s.log.Error("cannot offer lineage in this hello", zap.Error(err))
	}
	if s.lin != nil {
		h.LineageOK, h.Lineage = true, len(offer.entries)
		h.LineageTailStart, h.LineageTailCRC = offer.tailStart, offer.tailCRC
	}
	conn.SetDeadline(time.Now().Add(s.cfg.Housekeeping))
	defer conn.SetDeadline(time.Time{})
	if err := haproto.WriteHello(conn, h); err != nil {
		return haproto.HelloReply{}, fmt.Errorf("send hello: %w", err)
	}
	rep, err := haproto.ReadHelloReply(conn)
	if err == nil {
		rep, err = s.helloRounds(conn, rep, end, offer, h.LineageOK)
	}
	if err == nil {
		err = haproto.CheckCommon(rep, end) // before a cut may act on it
	}
	if err != nil {
		if errors.Is(err, haproto.ErrBadHello) {
			return rep, fmt.Errorf("%w: %w", err, ErrRefused)
		}
		return rep, err
	}
	switch {
	case rep.Error != "" && rep.Retry:
		return rep, s.refusal(rep, errTurnedAway)
	case rep.Code == haproto.CodeReseed:
		return rep, s.refusal(rep, ErrNeedsReseed)
	case rep.Code == haproto.CodeDiverged:
		return rep, s.refusal(rep, ErrDiverged)
	case rep.Error != "":
		if s.segmentSizeOnly(rep.Layout) {
			return rep, s.adoptSegmentSize(rep)
		}
		return rep, s.refusal(rep, ErrLayoutMismatch)
	}
	return rep, nil
}

// refusalError is the master's refusal as the slave reports it: the
// master's own words (which already name the cause) matching the cause's
// sentinel for errors.Is, and ErrRefused unless the master said retrying
// may help.
type refusalError struct {
	msg    string
	reason string // the master's words alone, for the log
	code   string
	kinds  []error
	common *int64 // the master's common point, in a diverged refusal decided by lineage
}

func (e *refusalError) Error() string   { return e.msg }
func (e *refusalError) Unwrap() []error { return e.kinds }

// errTurnedAway marks a refusal the master says may pass (its slots are
// full, it is still starting): the slave retries with its usual back-off.
var errTurnedAway = errors.New("master turned this slave away for now")

func (s *Slave) refusal(rep haproto.HelloReply, kind error) error {
	e := &refusalError{msg: fmt.Sprintf("master %s refused this slave: %s", s.cfg.Master, rep.Error),
		reason: rep.Error, code: rep.Code, kinds: []error{kind, ErrRefused}, common: rep.Common}
	if kind == errTurnedAway {
		e.msg, e.kinds = fmt.Sprintf("master %s turned this slave away for now: %s", s.cfg.Master, rep.Error), []error{kind}
	}
	return e
}

// refusalFields are the master's reason and code, when err is a refusal.
func refusalFields(err error) []zap.Field {
	var re *refusalError
	if !errors.As(err, &re) {
		return nil
	}
	return []zap.Field{zap.String("reason", re.reason), zap.String("code", re.code)}
}

// answerProof sends the CRCs of the challenged ranges of the slave's own
// bytes and reads the master's final reply.
func (s *Slave) answerProof(conn net.Conn, ranges []haproto.Range, end int64) (haproto.HelloReply, error) {
	if err := haproto.CheckRanges(ranges, end, s.layout.Info().SegmentSize); err != nil {
		return haproto.HelloReply{}, err
	}
	p := haproto.Proof{CRCs: make([]uint32, len(ranges))}
	for i, r := range ranges {
		crc, err := s.rangeCRC(r.From, r.To)
		if err != nil {
			return haproto.HelloReply{}, err
		}
		p.CRCs[i] = crc
	}
	s.log.Info("proving bytes at the master's divergence points", zap.Int("ranges", len(ranges)))
	if err := haproto.WriteProof(conn, p); err != nil {
		return haproto.HelloReply{}, fmt.Errorf("send proof: %w", err)
	}
	return haproto.ReadHelloReply(conn)
}

// rangeCRC is the CRC-32C of the slave's bytes [from, to), inside one segment.
func (s *Slave) rangeCRC(from, to int64) (uint32, error) {
	segStart := plugins.SegmentStart(s.layout.Info(), from)
	path := filepath.Join(s.app.Dir(), s.layout.SegmentName(segStart))
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("read own bytes for a proof: %w", err)
	}
	defer f.Close()
	buf := make([]byte, to-from)
	if _, err := f.ReadAt(buf, from-segStart); err != nil {
		return 0, fmt.Errorf("read own bytes [%d, %d) of %s for a proof: %w", from, to, path, err)
	}
	return crc32.Checksum(buf, castagnoli), nil
}

// tailDigest hashes up to TailWindow bytes below end, within end's segment.
func (s *Slave) tailDigest(end int64) (int64, uint32, error) {
	if end == 0 {
		return 0, 0, nil
	}
	info := s.layout.Info()
	segStart := plugins.SegmentStart(info, end-1)
	from := max(segStart, end-haproto.TailWindow)
	buf := make([]byte, end-from)
	path := filepath.Join(s.app.Dir(), s.layout.SegmentName(segStart))
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, fmt.Errorf("read own tail: %w", err)
	}
	defer f.Close()
	if _, err := f.ReadAt(buf, from-segStart); err != nil {
		return 0, 0, fmt.Errorf("read own tail %s: %w", path, err)
	}
	return from, crc32.Checksum(buf, castagnoli), nil
}

// report runs the session's reporter (slave_report_now.go).
func (s *Slave) report(ctx context.Context, conn net.Conn) error {
	return s.reportLoop(ctx, conn)
}

// maxGather bounds how many bytes of consecutive frames are written with
// one ApplyV (one journal record) during catch-up; the applier writes
// them in windows of the fastest write size (applier's maxWrite).
const maxGather = 1 << 20

// receive reads frames and applies them until the connection fails.
// Frames already buffered that continue the previous one in the same
// segment are written together with one pwritev, straight from the read
// buffer: catch-up costs one write per megabyte instead of one per 32 KiB
// frame, and a live stream, where the next frame has not arrived yet, is
// applied at once.
func (s *Slave) receive(ctx context.Context, conn net.Conn) error {
	fb := newFrameBuf(conn, maxGather+256<<10)
	var pieces [][]byte
	for {
		conn.SetReadDeadline(time.Now().Add(s.cfg.Housekeeping))
		h, err := s.readHeader(fb)
		if err != nil {
			return s.readErr(ctx, err)
		}
		if err := fb.need(int(h.Size)); err != nil {
			return s.readErr(ctx, err)
		}
		pieces = append(pieces[:0], fb.take(int(h.Size)))
		total := int(h.Size)
		for h.Size > 0 && total < maxGather {
			next, ok := s.continuation(fb, h.Offset+int64(total), maxGather-total)
			if !ok {
				break
			}
			fb.take(haproto.HeaderSize)
			pieces = append(pieces, fb.take(int(next.Size)))
			total += int(next.Size)
		}
		if err := s.apply(haproto.Header{Offset: h.Offset, Size: int32(total)}, pieces); err != nil {
			return err
		}
	}
}

func (s *Slave) readHeader(fb *frameBuf) (haproto.Header, error) {
	if err := fb.need(haproto.HeaderSize); err != nil {
		return haproto.Header{}, err
	}
	h, err := haproto.ParseHeader(fb.take(haproto.HeaderSize), haproto.MaxBody)
	if err != nil {
		s.log.Error("master sent a bad frame header; dropping the connection", zap.Error(err))
	}
	return h, err
}

// continuation reports whether the next frame is fully buffered, has data,
// starts at off, stays in off's segment and fits in room.
func (s *Slave) continuation(fb *frameBuf, off int64, room int) (haproto.Header, bool) {
	h, ok := fb.peekHeader()
	if !ok || h.Offset != off || h.Size == 0 || int(h.Size) > room ||
		fb.buffered() < haproto.HeaderSize+int(h.Size) {
		return h, false
	}
	info := s.layout.Info()
	if off%info.SegmentSize == 0 || plugins.SegmentStart(info, off) != plugins.SegmentStart(info, off+int64(h.Size)-1) {
		return h, false
	}
	return h, true
}

func (s *Slave) readErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return nil
	}
	return fmt.Errorf("read frame: %w", err)
}

// apply checks the frame's offset against the local end and writes its
// body, held in pieces.
func (s *Slave) apply(h haproto.Header, body [][]byte) error {
	s.mu.Lock()
	err := s.app.ApplyV(h.Offset, body) // checks the offset, heartbeats included
	if err == nil && h.Size > 0 {
		s.feed(h.Offset, body) // ApplyV leaves the pieces' bytes and headers as they were
		before := s.app.Synced()
		err = s.app.MaybeSync(time.Now())
		if err == nil && s.app.Synced() != before {
			s.observeSynced()
		}
	}
	s.mu.Unlock()
	if errors.Is(err, applier.ErrOffsetMismatch) {
		err = fmt.Errorf("frame at %d: %w: %w", h.Offset, err, ErrMismatch)
		s.log.Error("master sent a frame at the wrong offset; dropping the connection", zap.Error(err))
		return err
	}
	if err != nil {
		s.log.Error("cannot write replicated data; not acknowledging it", zap.Int64("offset", h.Offset), zap.Int32("size", h.Size), zap.Error(err))
		s.setState(SlaveWriteFailed, err.Error())
		return fmt.Errorf("apply frame at %d: %w", h.Offset, err)
	}
	if h.Size > 0 {
		s.reportApplied()
		s.sync.unsynced()
	}
	s.onFrame(h.Size, h.Offset+int64(h.Size))
	return nil
}
