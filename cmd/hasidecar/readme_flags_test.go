package main

import (
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// commandFlags returns a fresh FlagSet of every command that has flags, by
// the name the README uses.
func commandFlags(t *testing.T) map[string]*flag.FlagSet {
	sets := map[string]*flag.FlagSet{}
	for _, cmd := range []string{"master", "slave", "write", "verify", "demo", "bench", "wait", "status", "config check"} {
		args := append(strings.Fields(cmd), "--help")
		err := commands()[args[0]](t.Context(), args[1:], nil, nil)
		var h helpRequest
		if !errorsAs(err, &h) {
			t.Fatalf("%s --help: %v, want a help request", cmd, err)
		}
		sets[cmd] = h.fs
	}
	return sets
}

func errorsAs(err error, h *helpRequest) bool {
	x, ok := err.(helpRequest)
	*h = x
	return ok
}

var (
	readmeTableHead = regexp.MustCompile("^Flags of `([a-z ]+)`:$")
	readmeFlag      = regexp.MustCompile("`--([a-z0-9-]+)`")
)

// readmeFlags parses the README's "Flags of `CMD`:" tables.
func readmeFlags(t *testing.T) map[string][]string {
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	cmd := ""
	for _, line := range strings.Split(string(b), "\n") {
		if m := readmeTableHead.FindStringSubmatch(line); m != nil {
			cmd = m[1]
			continue
		}
		if cmd == "" || (line != "" && !strings.HasPrefix(line, "|")) {
			cmd = ""
			continue
		}
		if cells := strings.Split(line, "|"); len(cells) > 2 {
			for _, m := range readmeFlag.FindAllStringSubmatch(cells[1], -1) {
				out[cmd] = append(out[cmd], m[1])
			}
		}
	}
	return out
}

// TestReadmeListsEveryFlag: the README's tables and the FlagSets list the
// same flags, command by command.
func TestReadmeListsEveryFlag(t *testing.T) {
	doc := readmeFlags(t)
	for cmd, fs := range commandFlags(t) {
		var have []string
		fs.VisitAll(func(fl *flag.Flag) { have = append(have, fl.Name) })
		got := slices.Sorted(slices.Values(doc[cmd]))
		if !slices.Equal(have, got) {
			t.Errorf("%s: --help has %v\nREADME lists %v", cmd, have, got)
		}
	}
}

func TestEveryFlagHasHelp(t *testing.T) {
	for cmd, fs := range commandFlags(t) {
		fs.VisitAll(func(fl *flag.Flag) {
			if strings.TrimSpace(fl.Usage) == "" {
				t.Errorf("%s --%s has no help text", cmd, fl.Name)
			}
		})
	}
}
