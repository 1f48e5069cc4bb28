// Package digest is the Go client of the master's digest channel: the
// connection to the replication port that opens with haproto.DigestMagic
// ("\xffHASIDD1") and then carries request/response pairs, one at a time,
// until the client closes it. The bytes are specified in sidecar/haproto
// (doc.go, digest.go); the master's side is sidecar/master_digest.go.
//
// Contract:
//
//   - Dial connects with the caller's dial function, which applies the
//     replication link's TLS and whatever else the caller needs (the master
//     applies its allow-list and its --max-digest-conns cap like to any
//     connection), and sends the magic. Nothing is read until a request.
//   - Info returns the master's layout, block size, published end and its
//     published segments with their lineage coverage ("covered": digests may
//     be asked below it).
//   - Digests(from, to) returns the lineage block CRCs (CRC-32C, Castagnoli)
//     of the blocks of one segment that start in [from, to): from is a block
//     start, to at most the segment's covered offset; the last CRC is of a
//     partial block when to cuts it. Exactly ceil((to-from)/BlockSize) CRCs
//     are accepted.
//   - Fetch(from, to) returns the master's published bytes [from, to) of one
//     segment, at most haproto.MaxFetch bytes; exactly to-from are accepted.
//   - A refusal by the master (range, busy, bad_request) is returned as a
//     *haproto.DigestError and the connection stays usable; anything else
//     (a transport error, a malformed reply, a timeout) closes the client,
//     and every later call returns ErrClosed wrapped with the first cause.
//     A master over its digest-connection cap answers the first request
//     "busy" and closes: the next call fails; Dial again later.
//   - Each exchange is bounded by the client's timeout (default 30 s).
//   - A Client is safe for concurrent use; requests are serialized.
package digest
