// Package faultproxy is a TCP proxy for fault-injection tests: it listens
// on 127.0.0.1:0, forwards every accepted connection to one target address,
// and lets a test change, while traffic flows, what the network does:
//
//   - SetDelay: wait this long before forwarding each chunk read;
//   - Stall: stop forwarding in both directions while keeping every
//     connection open (the peers see silence, as with a hung switch or a
//     SIGSTOPped process), until Resume;
//   - CutAll: close every current connection at once (both sides);
//   - CutAfter: forward exactly n more bytes in one direction, then close
//     that connection, so a cut lands inside a frame or a report. Both ends
//     get a FIN (what they send afterwards is dropped, for 200 ms, before the
//     sockets close): a reset could destroy bytes an end had received but not
//     read, moving the cut;
//   - Throttle: limit the bandwidth of all connections together, bytes/s;
//   - Refuse: accept new connections and close them at once.
//
// Down is the target-to-client direction (master to slave when the proxy
// sits in front of a master), Up the other. Stats counts connections, bytes
// forwarded per direction and cuts.
//
// A Proxy owns its accept goroutine and two pump goroutines per connection;
// Close stops accepting, closes every connection and waits for all of them.
// When either side of a connection ends, the proxy closes both sides: a
// replication connection has no use for half-closed streams.
package faultproxy
