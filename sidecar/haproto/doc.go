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
package haproto
