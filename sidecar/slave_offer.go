package sidecar

import (
	"fmt"
	"net"

	"go.uber.org/zap"

	"github.com/hasidecar/hasidecar/plugins"
	"github.com/hasidecar/hasidecar/sidecar/haproto"
	"github.com/hasidecar/hasidecar/sidecar/lineage"
)

// lineageOffer is what a hello offers of the slave's lineage: one entry per
// segment below end that has complete blocks (oldest first), and the
// partial block holding end-1 when end is not at a block start.
type lineageOffer struct {
	entries   []haproto.SegLineage
	tailStart int64
	tailCRC   uint32
}

// completeBlocks counts the blocks of the segment at seg that end at or
// below to: a segment's last block is shorter when its size is not a
// multiple of the block size, and complete once the segment is full.
func completeBlocks(seg, size, to int64) int64 {
	to = min(to, seg+size)
	n := (to - seg) / lineage.BlockSize
	if to == seg+size && size%lineage.BlockSize != 0 {
		n++
	}
	return n
}

// blocksEnd is the end of the first n blocks of the segment at seg.
func blocksEnd(seg, size, n int64) int64 {
	return min(seg+n*lineage.BlockSize, seg+size)
}

// offerLineage builds the hello's lineage offer for the slave's end.
func (s *Slave) offerLineage(end int64) (lineageOffer, error) {
	var o lineageOffer
	l := s.lin
	if l == nil {
		return o, nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.broken {
		return o, nil
	}
	size := s.layout.Info().SegmentSize
	for seg := s.lineageFirst(); seg < end && len(o.entries) < haproto.MaxLineage; seg += size {
		n := completeBlocks(seg, size, end)
		if n == 0 {
			continue
		}
		r, err := l.store.Rollup(seg, int(n))
		if err != nil {
			return lineageOffer{}, fmt.Errorf("lineage rollup of segment %d: %w", seg, err)
		}
		o.entries = append(o.entries, haproto.SegLineage{Base: seg, Blocks: uint32(n), Rollup: r})
	}
	seg := plugins.SegmentStart(s.layout.Info(), max(end-1, 0))
	if end == 0 || seg < s.lineageFirst() {
		return o, nil
	}
	if start := blocksEnd(seg, size, completeBlocks(seg, size, end)); start < end {
		crcs, err := l.store.Blocks(seg, start, end)
		if err != nil || len(crcs) != 1 {
			return lineageOffer{}, fmt.Errorf("lineage of the partial block [%d, %d): %d CRCs: %w", start, end, len(crcs), err)
		}
		o.tailStart, o.tailCRC = start, crcs[0]
	}
	return o, nil
}

// maxHelloRounds bounds the non-final replies one hello may take (proof,
// lineage, lineage-of): a master asking forever is broken.
const maxHelloRounds = 8

// helloRounds answers the master's non-final replies until its final one.
func (s *Slave) helloRounds(conn net.Conn, rep haproto.HelloReply, end int64, offer lineageOffer, offered bool) (haproto.HelloReply, error) {
	var err error
	sent := false
	for i := 0; rep.Error == ""; i++ {
		if i == maxHelloRounds {
			return rep, fmt.Errorf("master asked %d questions in one hello: %w", i, haproto.ErrBadHello)
		}
		switch {
		case len(rep.Prove) > 0:
			rep, err = s.answerProof(conn, rep.Prove, end)
		case rep.LineageWanted:
			if !offered || sent {
				return rep, fmt.Errorf("master asked for lineage the slave did not offer (or twice): %w", haproto.ErrBadHello)
			}
			sent = true
			rep, err = s.sendLineage(conn, offer)
		case rep.LineageOf != nil:
			if !sent {
				return rep, fmt.Errorf("master asked for a segment's block CRCs before the lineage: %w", haproto.ErrBadHello)
			}
			rep, err = s.answerLineageOf(conn, *rep.LineageOf, end, offer)
		default:
			return rep, nil
		}
		if err != nil {
			return rep, err
		}
	}
	return rep, nil
}

func (s *Slave) sendLineage(conn net.Conn, offer lineageOffer) (haproto.HelloReply, error) {
	if err := haproto.WriteLineage(conn, offer.entries); err != nil {
		return haproto.HelloReply{}, fmt.Errorf("send lineage: %w", err)
	}
	return haproto.ReadHelloReply(conn)
}

// answerLineageOf sends the block CRCs of one offered segment below end.
func (s *Slave) answerLineageOf(conn net.Conn, seg, end int64, offer lineageOffer) (haproto.HelloReply, error) {
	e, ok := haproto.FindLineage(offer.entries, seg)
	n := int64(e.Blocks)
	if !ok {
		return haproto.HelloReply{}, fmt.Errorf("master asked for the block CRCs of segment %d, which the slave did not offer: %w", seg, haproto.ErrBadHello)
	}
	size := s.layout.Info().SegmentSize
	s.lin.mu.Lock()
	crcs, err := s.lin.store.Blocks(seg, seg, blocksEnd(seg, size, n))
	s.lin.mu.Unlock()
	if err != nil {
		return haproto.HelloReply{}, fmt.Errorf("block CRCs of segment %d: %w", seg, err)
	}
	s.log.Info("sending a segment's block CRCs: the master found its lineage different",
		zap.String("segment", s.layout.SegmentName(seg)), zap.Int64("segment_offset", seg), zap.Int("blocks", len(crcs)))
	if err := haproto.WriteBlockCRCs(conn, crcs); err != nil {
		return haproto.HelloReply{}, fmt.Errorf("send block CRCs: %w", err)
	}
	return haproto.ReadHelloReply(conn)
}
