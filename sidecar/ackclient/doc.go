// Package ackclient is the Go client of the ack socket (package ack
// documents the protocol). One Client holds one connection; many
// goroutines may call Wait, Query and Written on it at once: requests are
// pipelined, and responses are matched to callers by request id. The
// Client has no goroutine: a caller waiting for its answer reads the
// connection for everyone, one caller at a time, and passes that turn to
// another waiting caller when its own answer is in, so a lone call costs
// one write and one read on its own goroutine. Answers to calls that gave
// up are read and dropped by a later call.
//
// A WAIT's result is always the server's answer. The server answers
// TIMEOUT itself when the wait's timeout passes, so the client waits for
// that answer a margin longer (AnswerMargin: 10% of the timeout, at least
// 1 s); if nothing arrives by then the call fails with ErrNoAnswer. The
// client never makes up a TIMEOUT or an acknowledged offset.
package ackclient
