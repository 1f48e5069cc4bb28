// Package sidecar holds the roles and their wiring: the master's accept loop
// with one sender and one acknowledgement reader per slave connection, and the
// slave's client loop (connect, hello, report, receive, apply, acknowledge,
// reconnect with capped back-off).
//
// Contracts kept here, on top of the wire format in package haproto:
//
//   - The first report is read as RocketMQ's master reads it: the last complete
//     report of the first read is the request (a fork's slave sends 0 and its
//     real offset back to back), and a first report of 0 waits ZeroGrace for
//     one that supersedes it. A partial report after it is kept for the
//     acknowledgement reader.
//   - Slots are claimed after the first 8 bytes say what a connection is:
//     replication slots (MaxSlaves) and metadata slots (MaxMetaConns) are
//     counted apart, so metadata connections never lock slaves out; at most
//     MaxPending connections may be still to send those bytes. A sidecar
//     slave over the cap gets a retryable hello reply naming the cause
//     ("too many slaves connected (N of N)") and logs it; a classic one is
//     closed, the reason in the master's log.
//   - The slave's reconnect back-off starts over after a session that moved
//     its end.
//   - The master sends nothing until it has the slave's first report. A report
//     of 0 starts at the oldest segment (InitialFull, the slave ends up with a
//     complete directory) or at the start of the live segment (InitialLastSegment,
//     RocketMQ's classic rule). A non-zero report is used exactly, if the master
//     can serve it: not below its oldest segment, not beyond its end (after a
//     short grace for a master that is still scanning), and on a position the
//     master can vouch for (a record boundary, a position an earlier connection
//     reached, or a hello whose tail digest matches the master's bytes).
//     Anything else is a log line and a closed connection, never wrong bytes.
//   - Lineage (master_feed.go, master_lineage*.go; off without
//     MasterConfig.Lineage): the master hashes every byte the tailer
//     publishes into a lineage.Store, in order (a back-fill at start goes
//     the same way); it syncs the store every second and then stamps each
//     segment whose coverage moved with its file's size and mtime. At start
//     a segment whose file disagrees with its stamp is hashed again (the
//     newest one usually: the writer appended while the master was down);
//     the others keep their lineage and are not read. A tailer divergence
//     truncates the lineage at its offset, a segment deleted by retention is
//     forgotten. A sidecar whose hello offers lineage entries (Lineage > 0)
//     gets a non-final {"lineage":true} reply before the tail digest is
//     checked, sends its entries, and the master compares rollups oldest
//     segment first and then the partial tail block, over bytes it both
//     published and hashed (it waits at most ReportGrace for its feeder;
//     the segments it no longer holds or has not hashed are skipped and
//     counted in the reply's lineage_skipped and the log). At the first
//     segment that differs, or that holds complete blocks beyond the
//     master's end, it asks for that segment's block CRCs (LineageOf),
//     checks they add up to the entry's rollup (else the slave is refused
//     as malformed), and refuses the slave as diverged with Common: the
//     start of the first differing block, the partial tail's start, or the
//     end of what compared equal for a slave beyond the master's end.
//   - The digest channel (master_digest*.go): a connection opening with
//     haproto.DigestMagic is served info, digests and fetch requests
//     within its own cap (MaxDigestConns; over it one "busy" reply, then
//     close), with the idle limit of any connection. digests are asked per
//     segment from a block start up to its lineage coverage (never past
//     the published end); fetch serves published bytes of one segment. A
//     request it cannot answer is a refusal and the connection stays; a
//     malformed one ends the connection. sidecar/digest is the client.
//   - The slave's lineage (slave_lineage.go, slave_offer.go; off without
//     SlaveConfig.Lineage): every applied byte is hashed in order as it is
//     written; the store is synced and the written segment files stamped
//     (size, mtime) at most once a second after the applier synced, and at
//     a clean stop. Before each dial the slave forgets the lineage of
//     segments it no longer holds, re-hashes from the file every segment
//     whose stat differs from its stamp and that it has not written since
//     (a byte changed on disk while it ran or was down: a WARN line), and
//     makes each segment's coverage end at its own end (the partial block
//     lost at a restart is read back). The first segment of a slave that
//     started inside it holds zeros below its base: it has no lineage. The
//     hello offers one entry per segment with complete blocks and the
//     partial tail block, and answers LineageOf for offered segments only.
//   - TruncateDiverged (slave_cut.go): a diverged refusal with a valid
//     Common (haproto.CheckCommon) strictly inside (Base, End) cuts the
//     slave back to the last record boundary at or below Common (the layout
//     says whether Common is one; else Scan of a copy of the segment cut
//     at Common finds the last record that copy still holds), through
//     applier.CutAt (the cut bytes kept in <state-dir>/cut-<time>/), cuts
//     the lineage, logs offsets and byte counts, and reconnects at once.
//     Every cut lowers the end, so repeated refusals end. Otherwise the
//     refusal stands, as without the flag.
//   - The scrub (slave_scrub.go; ScrubRate > 0 with lineage): once a master
//     accepted a session, the slave re-reads its complete blocks below its
//     synced end at ScrubRate, pass after pass (ScrubPause, 10 s, between
//     two), and compares each with its
//     lineage and, through DialDigests, the master's digests. Bytes that
//     differ from the master's (or from its own lineage when the master
//     gives none) are an ERROR naming the range and make the slave diverged
//     with Ready failing until a restart; replication goes on. A lineage
//     record that alone differs while the file matches the master's
//     digests is an ERROR only. A cut excludes a scrub step (cutMu).
//   - Frames carry at most Batch bytes, never cross a segment, and carry only
//     bytes the tailer published as final. A heartbeat (size 0, offset = the
//     next offset) goes out when nothing was sent for Heartbeat.
//   - An acknowledgement beyond what this connection has sent is a lie: the
//     connection is closed (RocketMQ issue #3015).
//   - A connection silent for Housekeeping is closed by either side.
//   - The slave checks every frame starts exactly at its local end; on a
//     mismatch it drops the connection and reconnects, reporting its end again.
//     It acknowledges its written end (AckAfterWrite) or its fsynced and
//     checkpointed end (AckAfterFsync).
//   - States (state.go), one vocabulary on both ends. On the master, per
//     connection: connecting until the sender first ran out of data;
//     catching-up while the acknowledged offset is more than streamGap
//     (512 KiB, one gathered send) behind the end; streaming once within it,
//     left for catching-up only beyond catchUpGap (2 MiB); stalled when
//     acknowledgements stood still for StallAfter (3 heartbeats) while the
//     master holds data beyond them, or while the tailer is stalled;
//     diverged when the master's data was rewritten or the connection was cut
//     for it; needs-reseed and refused for refusals. On the slave: connecting,
//     catching-up (behind the end the hello reply gave, or until the first
//     heartbeat from a classic master), streaming (a heartbeat, or that end
//     reached), stalled (nothing at all received for StallAfter), refused,
//     diverged, needs-reseed, write-failed. Every change is one log line
//     ("replication state changed", old_state, new_state, reason) at INFO,
//     WARN for stalled, ERROR for the others. The master's own state:
//     starting, serving, diverged, stalled, dir-missing.
//   - Readiness (Master.Ready, Slave.Ready) is not liveness (Master.Healthy,
//     Slave.Healthy): a master is ready while serving with as many slaves as
//     the ack policy needs and none stalled or diverged; a slave while
//     streaming.
//   - A slave's name (SlaveConfig.Name) travels in the hello; the master
//     names a classic slave by its address:port.
//
// One record per slave connection: its ack.Replica (sent, reported,
// acknowledged, name, state and since) is written by the connection's
// sender and acknowledgement reader and read by the tracker, Stats,
// status and metrics alike; SlaveConnStats is a copy of it.
package sidecar
