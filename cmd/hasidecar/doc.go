// Command hasidecar replicates a directory of commit-log segments from a
// master host to slave hosts with the classic RocketMQ HA protocol.
//
// main stays thin: it parses the subcommand, builds its parts and runs
// them; an error maps to the exit status (64 usage, 78 configuration or a
// refused slave, 2 verify differences / wait timeout, 3 wait not available,
// 1 anything else). Each subcommand has its own file and FlagSet; flags can
// also come from HASIDECAR_* variables and a TOML file (config.go), with
// the command line first. The end-to-end tests in this package run the real
// binary as separate processes.
package main
