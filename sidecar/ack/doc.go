// Package ack answers "is offset X replicated?" for a writer on the master
// host: the Tracker (each slave's acknowledged offset, the ack policy, the
// waiters) and the Unix socket service that exposes it (Server). The Go
// client is package ackclient.
//
// # Semantics
//
// The committed offset is what the policy considers replicated: the maximum
// of the connected slaves' acknowledged offsets for "any", the minimum for
// "all" (at least one slave connected), the N-th highest for "quorum=N";
// -1 while fewer slaves are connected than the policy needs.
//
// WAIT(offset) answers OK(committed) as soon as committed >= offset (at once
// if it already is). It answers NOT_AVAILABLE at once, without waiting, when
// fewer slaves are connected than the policy needs, or when the master's end
// minus the committed offset exceeds the fall-behind limit (0 turns the
// check off). Otherwise it waits; TIMEOUT(committed) when its timeout passes.
// A slave disconnecting does not cut outstanding waits short: they keep
// waiting until their own deadline (the slave may come back, or the others
// may satisfy the policy); only new waits see NOT_AVAILABLE. No wait ever
// outlives its timeout. Waiters are woken in offset order; an acknowledgement
// costs O(k log n) for the k waiters it satisfies.
//
// # Resources
//
// An outstanding WAIT is a small entry (about 100 bytes) in the tracker's
// heaps, not a goroutine: a connection has one reader and one writer
// goroutine whatever it has outstanding, and one timer in the tracker,
// armed for the earliest deadline, answers TIMEOUTs. Answers are written
// by the goroutine that made them, one non-blocking write for all it made
// (the reader for the requests it read in one go, the acknowledging
// goroutine for every wait an acknowledgement satisfied: a group commit
// is one wakeup and one write per connection); the writer goroutine only
// finishes what the socket did not take at once. Caps, each answered
// on the wire rather than by a crash: MaxConns open connections (master
// flag --ack-max-conns, default 1024; one more gets the preamble status 3
// and is closed), MaxWaits outstanding WAITs across all connections
// (--ack-max-waits, default 65536) and 65536 on one connection (one more:
// ERROR code 4). A connection whose client sends without reading stops
// being read once 256 KiB of answers wait for it. A closed connection's
// waits are dropped at once, and emptied heaps give their memory back.
//
// Divergence. When the master's data above an offset is rewritten (the
// writer truncated and rewrote its log), acknowledgements above it say
// nothing about the current bytes. Tracker.Diverge(at, reason) taints
// every slave that was sent more than at (its acked offset is capped at
// at, its later acks ignored until it is removed: the master disconnects
// it), answers every outstanding wait above at NOT_AVAILABLE at once, and,
// until Tracker.Converged, answers new waits above at NOT_AVAILABLE at
// once ("the master's data above offset N was rewritten (diverged): "
// and the reason), even where the committed offset covers them. Waits at
// or below at behave as usual. STATUS carries the state (QUERY_EXT).
//
// What OK promises: the bytes below offset were acknowledged by the slaves
// the policy counts, on connections open at that moment. With the slave's
// --ack-after write they are in the slave's files (page cache: they survive
// a crash of the slave process but not of its host; PostgreSQL's
// remote_write); with --ack-after fsync they were fsynced (PostgreSQL's on).
// Under "all" it covers the slaves connected when the ack arrived, not the
// configured set. TIMEOUT and NOT_AVAILABLE say nothing about the slaves;
// the data is still stored on the master.
//
// # Wire protocol, version 1
//
// A stream over a Unix socket; all integers big-endian, strings are UTF-8.
//
// Preamble. The client sends 8 bytes first:
//
//	magic   [4]byte  'H' 'S' 'A' 'K' (0x48 0x53 0x41 0x4B)
//	version uint16   1
//	status  uint16   0
//
// The server answers with 8 bytes of the same shape: its magic, its version
// and a status: 0 OK, 1 unsupported version, 2 bad magic, 3 busy (the
// server has as many connections open as it allows; try again later). On
// a non-zero status the server closes the connection. A client that sends
// no preamble within 5 s is disconnected. A busy server may send status 3
// before reading the client's preamble, or, when it is refusing many
// connections at once, close without a word.
//
// Frames. After the preamble both directions carry frames:
//
//	length  uint32   bytes after this field: 5 + payload
//	type    uint8
//	id      uint32   chosen by the client, echoed in the response
//	payload [length-5]byte
//
// Requests are pipelined: a client may send many before reading, and
// responses may come back in any order (waits finish in offset order), so
// the id is how a client matches them. A request frame longer than 64 bytes
// or shorter than 5 gets ERROR(code 3, id 0) and the connection is closed.
//
// Requests (client -> server):
//
//	0x01 WAIT     offset int64, timeout_ms uint32               -> OK | TIMEOUT | NOT_AVAILABLE
//	0x02 QUERY    (no payload)                                   -> STATUS
//	0x03 WRITTEN  offset int64  "the writer has written up to offset"; no answer unless ERROR
//	0x04 QUERY_EXT (no payload)                                  -> STATUS with the trailer
//
// offset must be in 0..2^62; anything else is ERROR(code 1). A WAIT also
// acts as WRITTEN(offset). timeout_ms 0 answers at once (OK or TIMEOUT); a
// timeout above the server's maximum (default 60000 ms) is clamped to it.
//
// Responses (server -> client):
//
//	0x81 OK             acked int64                 the committed offset, >= the waited offset
//	0x82 TIMEOUT        acked int64                 the committed offset at the deadline (-1: none)
//	0x83 NOT_AVAILABLE  acked int64, reason_len uint16, reason [reason_len]byte
//	0x84 STATUS         master_end int64, committed int64, fallbehind_max int64,
//	                    policy_len uint8, policy [policy_len]byte ("any", "all", "quorum=N"),
//	                    slave_count uint16, then per slave:
//	                      id_len uint16, id [id_len]byte, addr_len uint16, addr [addr_len]byte,
//	                      sent int64, acked int64, connected_unix_ms int64
//	0xFF ERROR          code uint16, reason_len uint16, reason [reason_len]byte
//
// The STATUS answer to QUERY_EXT (and only to it) ends with a trailer after
// the slaves:
//
//	trailer_len uint16   bytes of the trailer after this field
//	diverged    uint8    1 while the tracker is diverged, else 0
//	at          int64    the divergence offset (0 when not diverged)
//	since_unix_ms int64  when it diverged (0 when not diverged)
//	reason_len  uint16, reason [reason_len]byte
//	master_state_len uint8, master_state [..]byte  "serving", "starting", "stalled", "diverged", "dir-missing"
//	master_reason_len uint16, master_reason [..]byte
//	state_count uint16   entries that follow, for the first state_count slaves of the list, in its order
//	per entry: name_len uint8, name [..]byte, state_len uint8, state [..]byte
//	           ("connecting", "catching-up", "streaming", "stalled", ...),
//	           reason_len uint16, reason [..]byte
//
//	progress_count uint16  entries that follow, for the first progress_count slaves, in order
//	per entry: reports uint8 (0 unknown, 1 classic, 2 extended: haproto's report2.go),
//	           reported int64 (the last report, counted or not),
//	           written int64, synced int64 (the slave's own ends, extended reports only; -1 unknown),
//	           ack_lag_us int64, write_lag_us int64, flush_lag_us int64 (-1 unknown),
//	           last_report_unix_ms int64
//
// The progress came after the states, and the state fields after the
// divergence: a trailer that ends after the divergence reason (an older
// server) has none, one that ends after the states has no progress (its
// slaves' written and synced ends read as unknown). Names are cut to 128
// bytes, states to 32, reasons to 512, and since trailer_len is a uint16
// only the entries that fit in 65535 bytes go (about 100 slaves at the
// longest; the rest arrive without a state).
//
// A decoder reads the fields it knows and skips the rest of trailer_len, so
// later versions may append fields. QUERY's STATUS has no trailer, so
// clients that predate it, which reject bytes after the slaves, keep
// working; a server that predates QUERY_EXT answers it ERROR code 2, and a
// client then asks QUERY (package ackclient does).
//
// ERROR codes: 1 bad request (bad offset or payload size; connection kept),
// 2 unknown request type (connection kept: the length says what to skip),
// 3 bad frame length (connection closed), 4 too many in flight: more than
// 65536 outstanding WAITs on the connection or more than the server's
// MaxWaits on all connections (connection kept; the WAIT is not queued). Response frames are at most
// 1 MiB. A client closing its connection abandons its outstanding waits.
//
// Example: WAIT id 7 for offset 4096 with a 5 s timeout is the 21 bytes
//
//	00 00 00 11  01  00 00 00 07  00 00 00 00 00 00 10 00  00 00 13 88
//
// and its OK answer with committed offset 8192 is
//
//	00 00 00 0d  81  00 00 00 07  00 00 00 00 00 00 20 00
package ack
