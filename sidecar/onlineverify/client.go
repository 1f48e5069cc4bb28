package onlineverify

import (
	"context"
	"net"

	"github.com/hasidecar/hasidecar/sidecar/digest"
	"github.com/hasidecar/hasidecar/sidecar/haproto"
)

// SourceCloser is a Source on its own connection.
type SourceCloser interface {
	Source
	Close() error
}

// Dial opens a digest channel to the master through dial (which applies
// the replication link's TLS): a sidecar/digest client as a Source.
func Dial(ctx context.Context, dial func(context.Context) (net.Conn, error)) (SourceCloser, error) {
	c, err := digest.Dial(ctx, dial)
	if err != nil {
		return nil, err
	}
	return FromClient(c), nil
}

// FromClient is c as a Source (and its Close).
func FromClient(c *digest.Client) SourceCloser { return clientSource{c} }

type clientSource struct{ *digest.Client }

func (s clientSource) Info() (MasterInfo, error) {
	rep, err := s.Client.Info()
	if err != nil {
		return MasterInfo{}, err
	}
	return infoOf(rep), nil
}

// infoOf converts the wire's info reply.
func infoOf(rep haproto.DigestReply) MasterInfo {
	mi := MasterInfo{BlockSize: int64(rep.BlockSize), End: rep.End}
	for _, s := range rep.Segments {
		mi.Segments = append(mi.Segments, Segment{Base: s.Base, Size: s.Size, Name: s.Name, Covered: s.Covered})
	}
	return mi
}
