package sidecar

import (
	"errors"
	"fmt"

	"github.com/hasidecar/hasidecar/plugins"
	"github.com/hasidecar/hasidecar/sidecar/haproto"
	"github.com/hasidecar/hasidecar/sidecar/lineage"
	"github.com/hasidecar/hasidecar/tailer"
)

// digestRefusal is a request the master answers with an error code.
type digestRefusal struct{ code, msg string }

func (e *digestRefusal) Error() string { return e.msg }

func refuseDigest(code, format string, args ...any) error {
	return &digestRefusal{code: code, msg: fmt.Sprintf(format, args...)}
}

// answerDigest answers one valid request: the reply and the CRCs or bytes
// that follow it.
func (m *Master) answerDigest(req haproto.DigestRequest) (haproto.DigestReply, []uint32, []byte) {
	var (
		rep  haproto.DigestReply
		crcs []uint32
		data []byte
		err  error
	)
	switch req.Op {
	case haproto.OpInfo:
		m.digests.info.Add(1)
		rep = m.digestInfo()
	case haproto.OpDigests:
		m.digests.digests.Add(1)
		crcs, err = m.digestCRCs(req.From, req.To)
	case haproto.OpFetch:
		m.digests.fetch.Add(1)
		data, err = m.digestFetch(req.From, req.To)
	}
	if err != nil {
		m.digests.refused.Add(1)
		code := haproto.DigestCodeRange
		if r := (*digestRefusal)(nil); errors.As(err, &r) {
			code = r.code
		}
		return haproto.DigestReply{Error: err.Error(), Code: code}, nil, nil
	}
	return rep, crcs, data
}

// digestInfo lists the published segments with their lineage coverage
// (digests can be asked below it).
func (m *Master) digestInfo() haproto.DigestReply {
	st := m.tail.State()
	info := m.layout.Info()
	rep := haproto.DigestReply{Version: haproto.DigestVersion, Layout: haproto.FromInfo(info), BlockSize: lineage.BlockSize, End: st.End}
	if st.Segments == 0 {
		return rep
	}
	for base := st.Oldest; base < st.End && len(rep.Segments) < haproto.MaxLineage; base += info.SegmentSize {
		rep.Segments = append(rep.Segments, haproto.DigestSegment{Base: base, Size: info.SegmentSize,
			Name: m.layout.SegmentName(base), Covered: m.lineageLimit(base, st)})
	}
	return rep
}

// lineageLimit is how far digests of the segment at base can be asked: its
// lineage coverage, within the segment and the published end.
func (m *Master) lineageLimit(base int64, st tailer.State) int64 {
	if m.feed == nil {
		return base
	}
	cov, ok := m.feed.store.Covered(base)
	if !ok {
		return base
	}
	return max(base, min(cov, st.End, base+m.layout.Info().SegmentSize))
}

// digestCRCs returns the lineage CRCs of the blocks in [from, to): from a
// block start of a published segment, to within its lineage limit.
func (m *Master) digestCRCs(from, to int64) ([]uint32, error) {
	if m.feed == nil {
		return nil, refuseDigest(haproto.DigestCodeRange, "the master keeps no lineage (no state directory)")
	}
	st := m.tail.State()
	base := plugins.SegmentStart(m.layout.Info(), from)
	if (from-base)%lineage.BlockSize != 0 {
		return nil, refuseDigest(haproto.DigestCodeBadRequest, "digests from %d: not a block start of segment %d", from, base)
	}
	if st.Segments == 0 || from < st.Oldest || from >= st.End && to > from {
		return nil, refuseDigest(haproto.DigestCodeRange, "digests from %d: the master holds [%d, %d)", from, st.Oldest, st.End)
	}
	if lim := m.lineageLimit(base, st); to > lim {
		return nil, refuseDigest(haproto.DigestCodeRange, "digests [%d, %d): segment %d is hashed up to %d (published end %d)", from, to, base, lim, st.End)
	}
	if to == from {
		return nil, nil
	}
	crcs, err := m.feed.store.Blocks(base, from, to)
	if err != nil {
		return nil, refuseDigest(haproto.DigestCodeRange, "digests [%d, %d): %v", from, to, err)
	}
	return crcs, nil
}

// digestFetch returns the published bytes [from, to) of one segment.
func (m *Master) digestFetch(from, to int64) ([]byte, error) {
	st := m.tail.State()
	base := plugins.SegmentStart(m.layout.Info(), from)
	if st.Segments == 0 || from < st.Oldest || to > st.End || to > base+m.layout.Info().SegmentSize {
		return nil, refuseDigest(haproto.DigestCodeRange, "fetch [%d, %d): want one segment's bytes within the published [%d, %d)", from, to, st.Oldest, st.End)
	}
	out := make([]byte, 0, to-from)
	for pos := from; pos < to; {
		ch, err := m.tail.Read(pos, int(to-pos))
		if err != nil {
			return nil, refuseDigest(haproto.DigestCodeRange, "fetch at %d: %v", pos, err)
		}
		if len(ch.Data) == 0 {
			ch.Release()
			return nil, refuseDigest(haproto.DigestCodeBusy, "fetch at %d: the bytes are not readable now; retry", pos)
		}
		out = append(out, ch.Data...)
		pos += int64(len(ch.Data))
		ch.Release()
	}
	return out, nil
}
