// Package haproto encodes and decodes the classic RocketMQ HA wire protocol
// that hasidecar speaks between a master and its slaves, plus the optional
// hasidecar hello that lets two sidecars check they agree on the layout.
//
// All integers are big-endian.
//
// Slave -> master, offset report (8 bytes):
//
//	offset int64   the slave's max physical offset: every byte below it is written
//
// The first report on a connection is the request (where the master starts
// sending); later ones are acknowledgements. As on RocketMQ's master, the
// request is the last complete report of the master's first read: a slave
// may send 0 and then its real offset back to back. Reports may arrive coalesced or
// split across reads; ReportReader keeps the partial tail and yields the last
// complete report.
//
// Master -> slave, data frame (12-byte header + body):
//
//	phyOffset int64   physical offset of the first body byte
//	size      int32   body length; 0 is a heartbeat
//	body      [size]  commit-log bytes exactly as on the master's disk
//
// A body never crosses a segment boundary and never exceeds MaxBody
// (4 MiB - 12 bytes, the read buffer of a RocketMQ slave).
//
// Hello (hasidecar extension, sent only between sidecars; a RocketMQ broker never
// sends it, and `--classic` on the slave turns it off when the master is a broker):
// the slave's first 8 bytes are HelloMagic (a negative number, which is never a
// valid offset report), followed by:
//
//	length uint32     length of the JSON document that follows (<= MaxHello)
//	json   [length]   Hello: protocol version, layout, the slave's end and a digest of its tail
//
// The master answers with a frame whose phyOffset is HelloMagic and whose body is
// a HelloReply JSON document. If the reply carries an error the master closes
// the connection; otherwise the classic protocol follows on the same connection,
// starting with the slave's first offset report.
//
// Hello, byte by byte (version 1; the name is optional, added without a
// version change). A slave named "db-2" with an empty directory sends
//
//	ff 48 41 53 49 44 45 31   HelloMagic ("\xffHASIDE1")
//	00 00 00 8a               length: 138 bytes of JSON follow
//	{"version":1,"layout":{"name":"rocketmq","segment_size":1073741824,"preallocated":true},
//	 "end":0,"tail_start":0,"tail_crc":0,"name":"db-2"}   (one line on the wire)
//
// Fields: version (1), layout {name, segment_size, preallocated}, end (the
// report that follows), tail_start and tail_crc (CRC-32C of [tail_start,
// end), at most TailWindow bytes, within end's segment), name (optional:
// 1..MaxName bytes of printable ASCII without spaces, CheckName). An
// older master decodes the JSON with encoding/json, which skips unknown
// fields: it accepts a named hello and names the slave by its address, as
// it did. A master that knows names refuses a bad one for good with a
// layout refusal saying why; a hello without a name (an older slave) is
// named by its address:port.
//
// The tail digest must start at max(end - TailWindow, start of the segment
// holding end-1): a master refuses any other, so a digest never covers
// fewer bytes than a slave would hash (an empty one proves nothing).
// A slave that answers proof challenges adds "proofs":true (proof.go).
// A slave that speaks the report extension adds "reports":2 (below).
//
// HelloReply: version, layout (the master's: a slave refused for a
// segment size alone may take it, see sidecar.SlaveConfig), error, retry,
// code, end (optional, the master's end offset when it answered; an
// older master sends none, read as 0 = unknown), and prove (optional, a
// proof challenge: a list of {"from","to"} ranges; the slave answers with
// a Proof document {"crcs":[...]} of the same framing and then reads the
// final reply), and reports (optional: the report format the master
// picked, see below).
//
// Report extension (report2.go; hasidecar only, negotiated in the hello,
// so a RocketMQ broker never sees it). The slave's hello offers
// "reports":2; a master that speaks it puts "reports":2 in its final
// accepting reply (one that predates it sends none: classic reports).
// After such a reply every report of the slave on that connection is 24
// bytes instead of 8:
//
//	acked   int64   the end it acknowledges (the classic report's offset)
//	written int64   the end of the bytes written to its segment files
//	synced  int64   the end of the bytes fsynced and checkpointed
//
// For example, a slave with --ack-after write that wrote 8192 bytes and
// fsynced 4096 sends
//
//	00 00 00 00 00 00 20 00  00 00 00 00 00 00 20 00  00 00 00 00 00 00 10 00
//
// Every report must have all three >= 0, synced <= written, acked <=
// written, written <= what the master sent on the connection, and written
// and synced must not decrease within a connection; a report that breaks
// a rule ends the connection. The acknowledgement counts as a classic
// report's does (only up to what the connection's socket took); written
// and synced are what the master shows as the slave's write and flush
// positions, and time its write and flush lag with.
//
// Lineage in the hello (lineage.go; hasidecar only). Both sides keep one
// CRC-32C per 1 MiB block of every segment (package sidecar/lineage: a
// block k of the segment at base B covers [B+k*LineageBlock,
// min(B+(k+1)*LineageBlock, segment end)); a segment's rollup over n
// blocks is the CRC-32C of their n CRCs written big-endian). A slave that
// keeps lineage adds to its hello:
//
//	"lineage":N               how many segment entries it holds, 0..MaxLineage (omitted when 0)
//	"lineage_ok":true         it speaks lineage (even with N = 0)
//	"lineage_tail_start":T    when end is not at a block start: the start of the block
//	"lineage_tail_crc":C      holding end-1 and the CRC-32C of [T, end); both omitted otherwise
//
// and sends nothing more until the master asks: a master that predates
// lineage sends its normal reply and would read further bytes as
// reports. A master that wants the entries answers first with a
// non-final reply (no error, like a proof challenge) carrying
// "lineage":true; the slave then sends N entries of SegLineageSize
// bytes, oldest segment first, bases strictly increasing:
//
//	base    int64    the segment's base offset
//	blocks  uint32   complete blocks below the slave's end, from the segment's start
//	rollup  uint32   the rollup of those blocks
//
// and reads the next reply. That one may again be non-final:
// "lineage_of":B asks for the block CRCs of the segment at base B (one
// the slave listed), which the slave sends as
//
//	count   uint32          the segment's complete blocks below its end
//	crcs    [count]uint32   their CRC-32Cs, in block order
//
// and reads the next reply. The final reply accepts or refuses as any
// other; one refusing for divergence found by lineage has code
// "diverged", an error naming the first differing offset and
// "common":X, every byte below X compared equal (a block start, the
// tail block's start, or 0 when the first block differs); a slave checks
// it (CheckCommon: 0 <= X <= its end, only with "diverged") before acting
// on it, and answers "lineage_of" only for a base it listed (FindLineage).
// "lineage_skipped":K in it counts the slave's segments not compared (the
// master no longer holds them or has not hashed them yet).
//
// Worked example: slave "db-2" holds segment 0 (1 GiB, 1024 blocks of
// zeros) and segment 1073741824 with 2 MiB + 4 KiB: a block of zeros, a
// block of 0xff bytes and 4 KiB of zeros; its end is 1075843072. It sends
//
//	ff 48 41 53 49 44 45 31   HelloMagic
//	00 00 01 01               257 bytes of JSON:
//	{"version":1,"layout":{"name":"rocketmq","segment_size":1073741824,"preallocated":true},
//	 "end":1075843072,"tail_start":1075838976,"tail_crc":2566472073,"name":"db-2",
//	 "lineage":2,"lineage_ok":true,"lineage_tail_start":1075838976,"lineage_tail_crc":2566472073}
//
// The master answers with a frame at HelloMagic of 103 (0x67) bytes:
//
//	{"version":1,"layout":{"name":"rocketmq","segment_size":1073741824,"preallocated":true},"lineage":true}
//
// The slave sends its two entries:
//
//	00 00 00 00 00 00 00 00  00 00 04 00  bb 0c e8 55   base 0, 1024 blocks, rollup
//	00 00 00 00 40 00 00 00  00 00 00 02  88 bf ec 21   base 1073741824, 2 blocks, rollup
//
// The master's second rollup differs; it asks (112 bytes of JSON)
//
//	{"version":1,"layout":{...},"lineage_of":1073741824}
//
// and the slave answers
//
//	00 00 00 02  14 29 8c 12  91 a3 b1 e6
//
// Block 0 matches, block 1 does not: the final reply is
//
//	{"version":1,"layout":{...},"error":"diverged at 1074790400","code":"diverged","common":1074790400}
//
// Digest channel (digest.go). A connection to the master's replication
// port whose first 8 bytes are DigestMagic ("\xffHASIDD1",
// ff 48 41 53 49 44 44 31) carries request/response pairs until the
// client closes it (ReadDigestRequest then returns an error wrapping
// io.EOF). A request is
//
//	length  uint32          <= MaxDigestRequest (4 KiB)
//	json    [length]        DigestRequest {"op":..,"from":F,"to":T}
//
// with op "info", "digests" or "fetch", 0 <= F <= T, T-F <= MaxDigestSpan
// (4 GiB) for digests and <= MaxFetch (4 MiB) for fetch; a request
// breaking these (or not JSON) is ErrBadDigest and ends the connection.
// A response is
//
//	length  uint32          <= MaxDigestReply (8 MiB)
//	json    [length]        DigestReply
//	crcs    [N]uint32       N = its "crcs" (digests)
//	data    [M]byte         M = its "data" (fetch)
//
// An info reply carries "version":1, "layout", "block_size":1048576,
// "end" (the master's published end) and "segments", oldest first, each
// {"base","size","name","covered"} (covered: the master's lineage
// coverage). A digests reply has the CRCs of the blocks starting in
// [F, T), F a block start, T <= min(segment end, published end,
// coverage), the last one partial when T cuts a block. A fetch reply has
// the bytes [F, T) of one segment, T <= the published end. A refusal has
// "error" (text) and "code" ("range", "busy" or "bad_request") and no
// payload; the connection stays open. The client checks a reply's counts
// against its own bounds (ReadDigestReply) before reading the payload.
//
// Example: after the magic, the client asks for the digests of the
// slave's segment above:
//
//	00 00 00 32   {"op":"digests","from":1073741824,"to":1075843072}
//
// and the master answers (10 bytes of JSON, then 3 CRCs; the last one is
// the partial block [1075838976, 1075843072)):
//
//	00 00 00 0a   {"crcs":3}
//	14 29 8c 12  91 a3 b1 e6  98 f9 41 89
package haproto
