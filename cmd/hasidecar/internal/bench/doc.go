// Package bench is `hasidecar bench`: catch-up throughput of an empty
// slave against a raw TCP copy of the same files (rawcopy.go), or the
// latency of synchronous commits against a loopback ping-pong and the ack
// socket's own round trip. Master and slave run as processes of the real
// binary; this process is the writer.
package bench
