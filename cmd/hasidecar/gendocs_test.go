package main

import (
	"bytes"
	"context"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

var repoRoot = filepath.Join("..", "..")

// generated runs the real binary's gen-docs into a temporary directory and
// returns that directory and the generated files (relative paths).
func generated(t *testing.T) (string, []string) {
	t.Helper()
	out := t.TempDir()
	if msg, code := runBin(t, "gen-docs", "--root", repoRoot, "--out", out); code != 0 {
		t.Fatalf("hasidecar gen-docs: exit %d\n%s", code, msg)
	}
	var files []string
	err := filepath.WalkDir(out, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(out, p)
			files = append(files, rel)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out, files
}

// TestGeneratedDocsFresh: the committed man pages, completions and
// REFERENCE.md are what the code generates now, and systemd/package/gen
// holds nothing else (a removed command's page would still be packaged).
func TestGeneratedDocsFresh(t *testing.T) {
	out, files := generated(t)
	if len(files) < 16 {
		t.Fatalf("gen-docs wrote %d files, want the 12 pages, 3 completions and REFERENCE.md: %v", len(files), files)
	}
	for _, rel := range files {
		want, _ := os.ReadFile(filepath.Join(out, rel))
		have, err := os.ReadFile(filepath.Join(repoRoot, rel))
		if err != nil || !bytes.Equal(have, want) {
			t.Errorf("%s is stale (or missing): run `%s` to regenerate, then commit it", rel, genDocsCmd)
		}
	}
	gen := filepath.Join(repoRoot, "systemd", "package", "gen")
	committed, _ := filepath.Glob(filepath.Join(gen, "*", "*"))
	for _, p := range committed {
		rel, _ := filepath.Rel(repoRoot, p)
		if !slices.Contains(files, rel) {
			t.Errorf("%s is no longer generated: remove it (run `%s` to regenerate the rest)", rel, genDocsCmd)
		}
	}
}

// TestGeneratedDocsParse: the shells and the man formatter accept what
// gen-docs writes (each checker runs only when installed).
func TestGeneratedDocsParse(t *testing.T) {
	out, files := generated(t)
	comp := filepath.Join(out, "systemd", "package", "gen", "completions")
	checkWith(t, "bash", filepath.Join(comp, "hasidecar.bash"), "-n")
	checkWith(t, "zsh", filepath.Join(comp, "_hasidecar"), "-n")
	checkWith(t, "fish", filepath.Join(comp, "hasidecar.fish"), "-n")
	for _, rel := range files {
		if !strings.HasSuffix(rel, ".1") {
			continue
		}
		page := filepath.Join(out, rel)
		b, _ := os.ReadFile(page)
		for _, head := range []string{"\n.TH ", "\n.SH NAME\n", "\n.SH SYNOPSIS\n", "\n.SH DESCRIPTION\n", "\n.SH EXIT STATUS\n"} {
			if !bytes.Contains(b, []byte(head)) {
				t.Errorf("%s: no %q", rel, strings.TrimSpace(head))
			}
		}
		// -ww: every warning; -z: no output, only the diagnostics.
		checkWith(t, "groff", page, "-man", "-Tutf8", "-ww", "-z")
	}
}

// checkWith runs tool args... file and fails on any diagnostic.
func checkWith(t *testing.T, tool, file string, args ...string) {
	t.Helper()
	if _, err := exec.LookPath(tool); err != nil {
		t.Logf("%s not installed: %s not checked with it", tool, filepath.Base(file))
		return
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	msg, err := exec.CommandContext(ctx, tool, append(args, file)...).CombinedOutput()
	if err != nil || len(msg) > 0 {
		t.Errorf("%s %s: %v\n%s", tool, filepath.Base(file), err, msg)
	}
}

// TestGeneratedPagesListEveryFlag: each command's page and completions
// name every flag of its FlagSet (the generator reads the same sets).
func TestGeneratedPagesListEveryFlag(t *testing.T) {
	out, _ := generated(t)
	gen := filepath.Join(out, "systemd", "package", "gen")
	bash, _ := os.ReadFile(filepath.Join(gen, "completions", "hasidecar.bash"))
	for cmd, fs := range commandFlags(t) {
		page, err := os.ReadFile(filepath.Join(gen, "man", "hasidecar-"+strings.Fields(cmd)[0]+".1"))
		if err != nil {
			t.Fatalf("%s: %v", cmd, err)
		}
		for _, name := range flagNames(fs) {
			if !bytes.Contains(page, []byte(`.B \-\-`+strings.ReplaceAll(name, "-", `\-`))) {
				t.Errorf("%s's page lacks --%s", cmd, name)
			}
			if !slices.Contains(bashFlags(string(bash), strings.Fields(cmd)[0]), "--"+name) {
				t.Errorf("the bash completion lacks %s --%s", cmd, name)
			}
		}
	}
}

func flagNames(fs interface{ VisitAll(func(*flag.Flag)) }) []string {
	var names []string
	fs.VisitAll(func(fl *flag.Flag) { names = append(names, fl.Name) })
	return names
}

// bashFlags are the flags the bash completion offers after word.
func bashFlags(script, word string) []string {
	_, rest, _ := strings.Cut(script, "\n\t"+word+")\n")
	_, rest, _ = strings.Cut(rest, "flags='")
	list, _, _ := strings.Cut(rest, "'")
	return strings.Fields(list)
}
