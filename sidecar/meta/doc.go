// Package meta mirrors a broker's small metadata files (RocketMQ's store
// config/ directory: topics.json, consumerOffset.json, delayOffset.json,
// subscriptionGroup.json, ...) from the master host to a slave host, so that
// the slave holds everything a broker needs after a failover, not only the
// commit log.
//
// The files travel on connections of their own to the master's HA port, never
// inside the classic HA protocol (real RocketMQ slaves must keep
// understanding that one). The master's accept loop reads the first 8 bytes
// of every connection; MetaMagic routes it to Server.ServeConn. The Client
// dials through a function its owner provides, so the replication link's
// security options (TLS, allow-lists) apply to it unchanged.
//
// # Wiring
//
// Master: in the accept loop, read the first 8 bytes unbuffered (or hand
// over a net.Conn that replays whatever a buffered reader took past them);
// if IsMetaMagic, call Server.ServeConn(ctx, conn) on the connection's
// goroutine. Slave: Client.Run(ctx) on a goroutine its owner waits for, with
// a Dial that applies the replication link's TLS and allow-list settings;
// the client writes MetaMagic itself.
//
// # Contract
//
// The server lists the entries of Dir whose base name matches one of the
// Include patterns (filepath.Match; default "*.json") and is a valid name: not
// empty, at most 255 bytes, no "/", no NUL, not ".." and no leading "."
// (temporary files are dot files, so they are never listed). Only regular
// files have content; a directory, FIFO, dangling symlink or a symlink that
// escapes Dir is listed with an error status, as is a file larger than
// MaxFileSize. Subdirectories are never descended into.
//
// A file is read so that it never arrives torn: fstat, read it whole, fstat
// again, stat the name again (a rename over it changes the inode), read it a
// second time and compare hashes. Size, mtime, ctime, inode and device must
// not change and both reads must agree. Those checks cannot see a rewrite
// that is merely paused (a writer that truncated the file and has not
// written it yet leaves an empty file that looks stable), so the file must
// also have been left alone for 100 ms (its mtime and ctime; kernel
// timestamps move in ticks of up to 10 ms), and its content must pass
// ServerOptions.Validate (default ValidateJSON: a "*.json" file must be one
// valid JSON document, which an emptied or half-rewritten file never is;
// timing alone cannot tell a finished rewrite from a writer descheduled in
// the middle of one). Otherwise the read is retried a few times, all the
// files of a listing together (about half a second in all), and the file is
// reported "unstable" for this round if it never settles.
//
// The client replaces each file whose content differs from its local copy
// atomically: it writes ".<name>.tmp-<random>" in Dir, fsyncs it, renames it
// over <name> and fsyncs Dir. A file whose content is unchanged is not
// rewritten (its mtime stays). A local file that vanished from the master's
// listing is removed only with ClientOptions.Delete. Local files that do not
// match Include are never touched; the one exception is the client's own
// leftover temporary files (".<name>.tmp-<16 hex digits>" for an included
// name) from a crash, which it removes. One bad file never stops the others:
// each is one log line (file, reason) and one entry of Result.Failed.
//
// # Wire protocol, version 1
//
// All integers are big-endian. The client opens a TCP connection and sends
//
//	magic int64   MetaMagic, the bytes "\xffHASIMD1" (the '1' is the version)
//
// As an HA offset report it would be negative, which no RocketMQ slave
// sends; the sidecar's replication hello uses "\xffHASIDE1". Then both
// directions carry frames:
//
//	type    uint8
//	length  uint32          payload bytes that follow
//	payload [length]byte
//
// Requests (client -> server); a request payload over 263 bytes is an error:
//
//	0x01 LIST   empty payload        -> MANIFEST or ERROR
//	0x02 GET    limit, name (below)  -> CONTENT or ERROR
//
// A GET payload is
//
//	limit int64         the largest content the client accepts (> 0); a larger
//	                    file is answered TOO_LARGE, so a file that grew since the
//	                    listing costs that file, not the connection
//	name  [rest]byte    the file name (1..255 bytes)
//
// The client sends one LIST, then one GET per file it wants, one at a time,
// and closes the connection. The server closes a connection idle for
// ServerOptions.IdleTimeout (30 s by default; the master's housekeeping
// interval under hasidecar master).
//
// Responses (server -> client):
//
//	0x81 MANIFEST  count uint32 (<= MaxEntries), then count entries sorted by name:
//	                 name_len   uint8, name [name_len]byte
//	                 status     uint8      (see below)
//	                 size       int64      bytes; 0 when unknown
//	                 mtime_ns   int64      Unix nanoseconds; 0 when unknown
//	                 sha256     [32]byte   of the content; zero unless status is OK
//	                 reason_len uint8, reason [reason_len]byte   empty when status is OK
//	               (payload <= MaxManifest bytes)
//	0x82 CONTENT   name_len uint8, name [name_len]byte   the name that was asked for
//	               status     uint8
//	               mtime_ns   int64
//	               sha256     [32]byte    of data
//	               reason_len uint8, reason [reason_len]byte
//	               data       [rest]byte  the whole file when status is OK, else empty
//	               (payload <= the client's MaxFileSize + 553 bytes)
//	0xFF ERROR     reason [length]byte (<= 1024): the request failed as a whole
//	               (directory unreadable, too many files, malformed request);
//	               the server closes the connection after it.
//
// Status codes: 0 OK, 1 VANISHED (gone between listing and reading),
// 2 UNREADABLE (not a regular file, permission, I/O error, escaping
// symlink), 3 TOO_LARGE (over the server's MaxFileSize), 4 UNSTABLE (kept
// changing while read), 5 BAD_NAME (a GET for a name the server would not
// list). A client checks the sha256 of every data it receives against the
// header and refuses any frame longer than its own bounds before reading it,
// so a hostile or broken server costs at most one bounded allocation and
// never leaves a file written.
package meta
