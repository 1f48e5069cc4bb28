// Package ackclient is the Go client of the ack socket (package ack
// documents the protocol). One Client holds one connection; many
// goroutines may call Wait, Query and Written on it at once: requests are
// pipelined and one reader goroutine, owned by the Client and stopped by
// Close, matches responses to callers by request id.
package ackclient
