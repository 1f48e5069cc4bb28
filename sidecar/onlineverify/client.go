package onlineverify

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"time"

	"github.com/hasidecar/hasidecar/sidecar/haproto"
)

// SourceCloser is a Source on its own connection.
type SourceCloser interface {
	Source
	Close() error
}

// callTimeout bounds one request and its reply: a master that stops
// answering ends the run with an error instead of hanging it.
const callTimeout = time.Minute

// Dial opens a digest channel to the master through dial (which applies
// the replication link's TLS). Interim: a direct client of the haproto
// digest functions until sidecar/digest is merged.
func Dial(ctx context.Context, dial func(context.Context) (net.Conn, error)) (SourceCloser, error) {
	conn, err := dial(ctx)
	if err != nil {
		return nil, err
	}
	if err := haproto.WriteDigestOpen(conn); err != nil {
		conn.Close()
		return nil, fmt.Errorf("open digest channel: %w", err)
	}
	return &wireSource{conn: conn, r: bufio.NewReaderSize(conn, 1<<20)}, nil
}

type wireSource struct {
	conn net.Conn
	r    *bufio.Reader
}

func (w *wireSource) call(q haproto.DigestRequest, maxCRCs, maxData int) (haproto.DigestReply, []uint32, []byte, error) {
	w.conn.SetDeadline(time.Now().Add(callTimeout))
	if err := haproto.WriteDigestRequest(w.conn, q); err != nil {
		return haproto.DigestReply{}, nil, nil, fmt.Errorf("digest %s request: %w", q.Op, err)
	}
	rep, crcs, data, err := haproto.ReadDigestReply(w.r, maxCRCs, maxData)
	if err == nil {
		err = rep.Err()
	}
	return rep, crcs, data, err
}

func (w *wireSource) Info() (MasterInfo, error) {
	rep, _, _, err := w.call(haproto.DigestRequest{Op: haproto.OpInfo}, 0, 0)
	if err != nil {
		return MasterInfo{}, err
	}
	return infoOf(rep), nil
}

func (w *wireSource) Digests(from, to int64) ([]uint32, error) {
	_, crcs, _, err := w.call(haproto.DigestRequest{Op: haproto.OpDigests, From: from, To: to}, int(haproto.MaxDigestSpan/(4<<10)), 0)
	return crcs, err
}

func (w *wireSource) Fetch(from, to int64) ([]byte, error) {
	_, _, data, err := w.call(haproto.DigestRequest{Op: haproto.OpFetch, From: from, To: to}, 0, haproto.MaxFetch)
	return data, err
}

func (w *wireSource) Close() error { return w.conn.Close() }

// infoOf converts the wire's info reply.
func infoOf(rep haproto.DigestReply) MasterInfo {
	mi := MasterInfo{BlockSize: int64(rep.BlockSize), End: rep.End}
	for _, s := range rep.Segments {
		mi.Segments = append(mi.Segments, Segment{Base: s.Base, Size: s.Size, Name: s.Name, Covered: s.Covered})
	}
	return mi
}
