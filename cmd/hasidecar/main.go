package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

const usage = `hasidecar replicates a commit-log segment directory from a master to slaves.

Usage:
  hasidecar <command> [flags]

Commands:
  master    tail a segment directory and serve slaves (classic RocketMQ HA protocol)
  slave     replicate a master's directory into a local one
  wait      ask a master whether an offset is replicated (synchronous commits)
  status    show a master's end and each slave's progress
  write     a built-in broker-like writer appending RocketMQ records through mmap
  verify    compare two segment directories
  demo      writer, master and slave on this machine for ~15 s, then verify
  bench     measure catch-up, tailing, idle CPU, lag and sync commits against same-run baselines
  config    check a configuration file: config check FILE
  run       run the role a configuration file names (the systemd unit's entry point)
  version   print the version

Run 'hasidecar <command> -h' for a command's flags.
`

// exitCoder lets an error choose the process exit status.
type exitCoder interface{ ExitCode() int }

// usageError marks a command-line mistake (exit 64, EX_USAGE).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }
func (e usageError) ExitCode() int { return 64 }

func main() {
	ctx, stop := signalContext()
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	os.Exit(exitCode(err, os.Stderr))
}

// signalContext ends on the first SIGINT/SIGTERM; a second one aborts the
// drain at once.
func signalContext() (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		<-ch
		cancel()
		<-ch
		fmt.Fprintln(os.Stderr, "hasidecar: second signal, exiting without draining")
		os.Exit(130)
	}()
	return ctx, func() { signal.Stop(ch); cancel() }
}

func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	var fe flagError
	if errors.As(err, &fe) {
		fmt.Fprintf(stderr, "hasidecar %s: %v\nRun 'hasidecar %s --help' for usage.\n", fe.cmd, fe.err, fe.cmd)
		return fe.ExitCode()
	}
	fmt.Fprintln(stderr, "hasidecar:", err)
	var ec exitCoder
	if errors.As(err, &ec) {
		return ec.ExitCode()
	}
	return 1
}

type command func(ctx context.Context, args []string, stdout, stderr io.Writer) error

func commands() map[string]command {
	return map[string]command{
		"master":  runMaster,
		"slave":   runSlave,
		"wait":    runWait,
		"status":  runStatus,
		"write":   runWrite,
		"verify":  runVerify,
		"demo":    runDemo,
		"bench":   runBench,
		"version": runVersion,
		"config":  runConfig,
		"run":     runService,
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return usageError{errors.New("no command given")}
	}
	switch args[0] {
	case "-h", "--help", "-help", "help":
		fmt.Fprint(stdout, usage)
		return nil
	case "-version", "--version":
		return runVersion(ctx, nil, stdout, stderr)
	}
	cmd, ok := commands()[args[0]]
	if args[0] == "gen-docs" { // hidden: the maintainers' generator (gendocs.go)
		cmd, ok = runGenDocs, true
	}
	if !ok {
		fmt.Fprint(stderr, usage)
		return usageError{fmt.Errorf("unknown command %q", args[0])}
	}
	err := cmd(ctx, args[1:], stdout, stderr)
	var h helpRequest
	if errors.As(err, &h) {
		printHelp(stdout, h.fs)
		return nil
	}
	return err
}
