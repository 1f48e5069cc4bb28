// Command hasidecar replicates a directory of commit-log segments from a
// master host to slave hosts with the classic RocketMQ HA protocol.
//
// main stays thin: it maps flags, HASIDECAR_* variables and a TOML file
// (config.go; the command line first) onto each subcommand's typed
// configuration, dispatches the subcommand, and maps its error to the exit
// status (64 usage, 78 configuration, a layout the files contradict or a
// refused slave, 2 verify differences / wait timeout, 3 wait not
// available, 1 anything else). The roles themselves are libraries:
// `master` and `slave` build a sidecar/role Master or Slave and run it;
// what stays here is the process's part: the logger, systemd notify and
// watchdog, and SIGHUP, which rebuilds the configuration and hands it to
// the role's Reload. demo, bench and write map their flags onto
// internal/demo, internal/bench and internal/loadgen (which run this
// binary as child processes through internal/spawn). The end-to-end tests
// in this package run the real binary as separate processes.
//
// The hidden command gen-docs (gendocs*.go; `go generate ./cmd/hasidecar`)
// writes the man pages and shell completions under systemd/package/gen and
// REFERENCE.md from the commands' own FlagSets, the usage, the README's
// exit-code table, sidecar/config and metrics.Catalog; a test fails when
// the committed files are stale.
package main
