// Package spawn runs hasidecar's own roles as child processes (demo and
// bench run the real binary, whose path the caller passes in) and holds
// the small waits they share.
package spawn
