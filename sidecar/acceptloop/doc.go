// Package acceptloop keeps a server's accept loop alive when the process
// or the host runs out of a resource accept needs.
//
// # Contract
//
// Acceptor.Accept calls the listener's Accept until it returns a
// connection or an error that is not temporary. Temporary errors are the
// errnos that say "try again once something is freed", matched with
// errors.Is on the syscall errno:
//
//	EMFILE        the process's descriptor limit (RLIMIT_NOFILE) is reached
//	ENFILE        the host's file table (fs.file-max) is full
//	ENOBUFS       the kernel has no socket buffer memory left
//	ENOMEM        the kernel has no memory left for the socket
//	ECONNABORTED  a pending connection was reset before it was accepted
//
// After each temporary error Accept sleeps a capped exponential back-off
// (Min, doubling, at most Max: 5 ms .. 1 s by default) and tries again; a
// success resets it. The connections left in the listen backlog meanwhile
// are accepted once descriptors are free again, so nothing is refused that
// the kernel queued.
//
// Logging is rate limited: the first failure of a run of failures is
// logged at once (ERROR for an exhausted resource, WARN for ECONNABORTED),
// saying what is exhausted; further failures at most once per LogEvery (10
// s), with how many were not logged. The first success after failures logs
// one INFO line with their count.
//
// Accept returns the listener's error unchanged for anything else (a
// closed listener included), and the last temporary error, unchanged, when
// ctx ends during a back-off; callers check ctx first, as an accept loop
// does anyway.
package acceptloop
