// Package report formats what several hasidecar commands print: a
// directory comparison (verify, demo) and a master's replicated offset
// (status, demo, bench).
package report
