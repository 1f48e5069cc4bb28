package main

//go:generate go run . gen-docs --root ../..

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// gen-docs (hidden: not in the usage, the README or commands()) writes the
// operator's kit from the code itself, so it cannot drift from the binary:
//
//	systemd/package/gen/man/hasidecar.1, hasidecar-CMD.1  man pages (roff)
//	systemd/package/gen/completions/hasidecar.bash, _hasidecar, hasidecar.fish
//	REFERENCE.md  every metric (sidecar/metrics.Catalog) and every setting
//
// The flags come from the very FlagSets the commands parse, the command
// list from usage, the exit codes from the README's "Exit codes:" table
// and the settings' bounds from sidecar/config/doc.go (each stated once).
// TestGeneratedDocsFresh fails when the committed files are stale.

const genDocsCmd = "go generate ./cmd/hasidecar"

// genFiles maps each generated file (relative to the repository root) to
// the function writing it.
func genFiles(k *kit) map[string]func(io.Writer) error {
	files := map[string]func(io.Writer) error{
		"systemd/package/gen/man/hasidecar.1":            k.writeMainPage,
		"systemd/package/gen/completions/hasidecar.bash": k.writeBash,
		"systemd/package/gen/completions/_hasidecar":     k.writeZsh,
		"systemd/package/gen/completions/hasidecar.fish": k.writeFish,
		"REFERENCE.md": k.writeReference,
	}
	for _, c := range k.cmds {
		files["systemd/package/gen/man/"+c.page()] = func(w io.Writer) error { return k.writeCmdPage(w, c) }
	}
	return files
}

func runGenDocs(_ context.Context, args []string, _, _ io.Writer) error {
	fs := newFlagSet("gen-docs")
	root := fs.String("root", ".", "repository root: read README.md and sidecar/config/doc.go there")
	out := fs.String("out", "", "write the files under this directory instead of --root")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *out == "" {
		*out = *root
	}
	return genDocs(*root, *out)
}

// genDocs reads the sources under root and writes every generated file
// under out.
func genDocs(root, out string) error {
	k, err := loadKit(root)
	if err != nil {
		return err
	}
	for rel, write := range genFiles(k) {
		if err := writeGenFile(filepath.Join(out, rel), write); err != nil {
			return err
		}
	}
	return nil
}

func writeGenFile(path string, write func(io.Writer) error) error {
	var b strings.Builder
	if err := write(&b); err != nil {
		return fmt.Errorf("gen-docs %s: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("gen-docs: %w", err)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		return fmt.Errorf("gen-docs: %w", err)
	}
	return nil
}

// docCmd is one command as the generated files describe it.
type docCmd struct {
	word  string // "config"
	name  string // "config check": the helps key and FlagSet name
	about string // the usage's one line
	help  cmdHelp
	flags []*flag.Flag // sorted by name, as VisitAll gives them
}

func (c docCmd) page() string { return "hasidecar-" + c.word + ".1" }

// kit is everything the generated files are made of.
type kit struct {
	cmds      []docCmd
	exitCodes [][2]string // code, meaning (README markdown)
	bounds    map[string]map[string]string
}

func loadKit(root string) (*kit, error) {
	cmds, err := docCommands()
	if err != nil {
		return nil, err
	}
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		return nil, fmt.Errorf("gen-docs: %w", err)
	}
	codes, err := readmeExitCodes(string(readme))
	if err != nil {
		return nil, err
	}
	doc, err := os.ReadFile(filepath.Join(root, "sidecar", "config", "doc.go"))
	if err != nil {
		return nil, fmt.Errorf("gen-docs: %w", err)
	}
	return &kit{cmds: cmds, exitCodes: codes, bounds: settingBounds(string(doc))}, nil
}

var usageCommand = regexp.MustCompile(`^  ([a-z]+) +(.+)$`)

// docCommands lists the usage's commands with their help and flags.
func docCommands() ([]docCmd, error) {
	_, list, _ := strings.Cut(usage, "Commands:\n")
	list, _, _ = strings.Cut(list, "\n\n")
	var out []docCmd
	for _, line := range strings.Split(list, "\n") {
		m := usageCommand.FindStringSubmatch(line)
		if m == nil {
			return nil, fmt.Errorf("gen-docs: usage line %q: want \"  COMMAND  what it does\"", line)
		}
		c, err := docCommand(m[1], m[2])
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

func docCommand(word, about string) (docCmd, error) {
	c := docCmd{word: word, name: word, about: about}
	args := []string{"--help"}
	if word == "config" {
		c.name, args = "config check", []string{"check", "--help"}
	}
	h, ok := helps[c.name]
	if !ok {
		// A command without help text or flags (version).
		c.help = cmdHelp{synopsis: "hasidecar " + word, about: about, example: "hasidecar " + word}
		return c, nil
	}
	c.help = h
	var req helpRequest
	if err := commands()[word](context.Background(), args, io.Discard, io.Discard); !errors.As(err, &req) {
		return c, fmt.Errorf("gen-docs: %s --help: %v, want a help request", c.name, err)
	}
	req.fs.VisitAll(func(fl *flag.Flag) { c.flags = append(c.flags, fl) })
	return c, nil
}

func (k *kit) cmd(word string) docCmd {
	for _, c := range k.cmds {
		if c.word == word {
			return c
		}
	}
	return docCmd{}
}

var (
	exitTableHead = "Exit codes:\n\n| code | meaning |\n| --- | --- |\n"
	exitTableRow  = regexp.MustCompile(`^\| ([0-9]+) \| (.+) \|$`)
)

// readmeExitCodes reads the README's exit-code table, the one list of them.
func readmeExitCodes(readme string) ([][2]string, error) {
	_, rest, ok := strings.Cut(readme, exitTableHead)
	if !ok {
		return nil, errors.New("gen-docs: README.md has no \"Exit codes:\" table")
	}
	var out [][2]string
	for _, line := range strings.Split(rest, "\n") {
		m := exitTableRow.FindStringSubmatch(line)
		if m == nil {
			break
		}
		out = append(out, [2]string{m[1], m[2]})
	}
	if len(out) == 0 {
		return nil, errors.New("gen-docs: README.md's \"Exit codes:\" table has no rows")
	}
	return out, nil
}

// flagArg is a flag's value name and its help, as PrintDefaults shows them
// ("" for a boolean flag).
func flagArg(fl *flag.Flag) (string, string) {
	name, help := flag.UnquoteUsage(fl)
	if isBoolFlag(fl) {
		name = ""
	}
	return name, help
}

func isBoolFlag(fl *flag.Flag) bool {
	b, ok := fl.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// flagDefault is the default worth printing ("" when it is the zero value
// of a string or boolean flag).
func flagDefault(fl *flag.Flag) string {
	if fl.DefValue == "" || (isBoolFlag(fl) && fl.DefValue == "false") {
		return ""
	}
	return fl.DefValue
}
