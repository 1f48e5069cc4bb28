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
package haproto
