package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// Help: `hasidecar CMD -h` (or --help) prints the command's synopsis, what
// it does, one example and its flags to stdout and exits 0. A flag mistake
// prints one line and a hint to stderr and exits 64: the flag list is for
// those who ask for it.

// cmdHelp is a command's help text.
type cmdHelp struct {
	synopsis string // "hasidecar master --dir DIR [flags]"
	about    string // one or two lines
	example  string // one command line
}

var helps = map[string]cmdHelp{
	"master": {"hasidecar master --dir DIR [--listen ADDR] [flags]",
		"Tails the segment directory DIR and serves slaves on the HA port (classic RocketMQ HA protocol).",
		"hasidecar master --dir /data/store/commitlog --listen 0.0.0.0:10912 --ack-socket /run/hasidecar/ack.sock"},
	"slave": {"hasidecar slave --dir DIR --master HOST:PORT [flags]",
		"Replicates a master's segment directory into DIR.",
		"hasidecar slave --dir /data/store/commitlog --master broker-a:10912 --state-dir /var/lib/hasidecar/broker-a"},
	"wait": {"hasidecar wait --socket PATH --offset N [--timeout DUR]",
		"Asks a master whether OFFSET is replicated: exit 0 replicated, 2 timeout, 3 not available, 1 error.",
		"hasidecar wait --socket /run/hasidecar/ack.sock --offset 1048576 --timeout 5s"},
	"status": {"hasidecar status --socket PATH [--json]",
		"Shows a master's end, its policy and each slave's sent and acknowledged offsets.",
		"hasidecar status --socket /run/hasidecar/ack.sock"},
	"write": {"hasidecar write --dir DIR [flags]",
		"A built-in broker-like writer: appends records to DIR (RocketMQ v1 records through mmap by default).",
		"hasidecar write --dir /tmp/commitlog --rate 1000 --duration 30s"},
	"verify": {"hasidecar verify [flags] MASTER_DIR SLAVE_DIR | hasidecar verify --online --master HOST:PORT --dir DIR [--repair] [flags]",
		"Compares two segment directories, or (--online) a slave's directory with a running master's block digests: exit 0 identical, 2 differences, 1 cannot compare.",
		"hasidecar verify /data/store/commitlog /mnt/replica/store/commitlog"},
	"demo": {"hasidecar demo [flags]",
		"Runs a writer, a master and a slave on this machine, prints the lag, then verifies both directories.",
		"hasidecar demo --duration 15s"},
	"bench": {"hasidecar bench [--only catchup,tailing,idle,live,sync,verify] [--runs N] [--json] [--quick] [flags]",
		"Measures catch-up, tailing, idle and loaded CPU, live lag, synchronous commits and online verify, each figure next to a baseline measured in the same run, the ratio, the target and whether it is met.",
		"hasidecar bench --runs 3"},
	"config check": {"hasidecar config check [--role master|slave] [--env ENVFILE] FILE",
		"Validates FILE (and ENVFILE) exactly as `hasidecar run` and the roles do, touching nothing: prints \"FILE: OK\" or every problem (exit 1).",
		"hasidecar config check --env /etc/hasidecar/broker-a-master.env /etc/hasidecar/broker-a-master.toml"},
	// gen-docs is hidden (not in the usage or the README): see gendocs.go.
	"gen-docs": {"hasidecar gen-docs [--root DIR] [--out DIR]",
		"Writes the man pages, shell completions and REFERENCE.md from this binary's commands (maintainers: go generate ./cmd/hasidecar).",
		"hasidecar gen-docs --root . --out /tmp/docs"},
	"run": {"hasidecar run --config FILE [flags of the file's role]",
		"Runs the role the file names (role = \"master\" or \"slave\"): the systemd unit's entry point.",
		"hasidecar run --config /etc/hasidecar/broker-a-master.toml"},
}

// helpRequest is -h/--help: the dispatcher prints fs's help to stdout.
type helpRequest struct{ fs *flag.FlagSet }

func (h helpRequest) Error() string { return "help requested" }

// flagError is a command-line mistake: one line and a hint, exit 64.
type flagError struct {
	cmd string
	err error
}

func (e flagError) Error() string { return e.cmd + ": " + e.err.Error() }
func (e flagError) Unwrap() error { return e.err }
func (e flagError) ExitCode() int { return 64 }

// newFlagSet returns a FlagSet that prints nothing itself: help and
// mistakes are reported by the dispatcher (see usageFor).
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

func isHelp(arg string) bool {
	return arg == "-h" || arg == "--help" || arg == "-help" || arg == "help"
}

// usageFor turns a FlagSet.Parse error into a help request or a flagError.
func usageFor(fs *flag.FlagSet, err error) error {
	if errors.Is(err, flag.ErrHelp) {
		return helpRequest{fs}
	}
	return flagError{cmd: fs.Name(), err: err}
}

// parseFlags parses args and turns a flag mistake into a usage error.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return usageFor(fs, err)
	}
	if fs.NArg() > 0 {
		return flagError{cmd: fs.Name(), err: fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	return nil
}

// printHelp writes fs's help: synopsis, what it does, an example, flags.
func printHelp(w io.Writer, fs *flag.FlagSet) {
	h := helps[fs.Name()]
	fmt.Fprintf(w, "Usage:\n  %s\n\n%s\n\nExample:\n  %s\n", h.synopsis, h.about, h.example)
	if hasFlags(fs) {
		fmt.Fprint(w, "\nFlags:\n")
		fs.SetOutput(w)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
	if strings.HasPrefix(fs.Name(), "master") || strings.HasPrefix(fs.Name(), "slave") {
		fmt.Fprintf(w, "\nEvery flag can also come from HASIDECAR_<FLAG> or the --config file; see the README.\n")
	}
}

func hasFlags(fs *flag.FlagSet) bool {
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	return n > 0
}
