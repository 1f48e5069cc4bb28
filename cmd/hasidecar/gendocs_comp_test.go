package main

import (
	"context"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestCompletionsComplete: the generated bash and fish completions, loaded
// into the real shell (each runs only when installed; CI installs both),
// complete a subcommand from its prefix and a flag of that subcommand.
func TestCompletionsComplete(t *testing.T) {
	out, _ := generated(t)
	comp := filepath.Join(out, "systemd", "package", "gen", "completions")
	cases := []struct {
		words []string // the command line, the last word being completed
		want  []string
	}{
		{[]string{"hasidecar", "mas"}, []string{"master"}},
		{[]string{"hasidecar", "ver"}, []string{"verify", "version"}},
		{[]string{"hasidecar", "master", "--poll-m"}, []string{"--poll-max", "--poll-min"}},
		{[]string{"hasidecar", "slave", "--truncate"}, []string{"--truncate-diverged"}},
		{[]string{"hasidecar", "config", "ch"}, []string{"check"}},
	}
	shells := map[string]func(t *testing.T, file string, words []string) []string{
		"bash": func(t *testing.T, file string, words []string) []string {
			script := `source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _hasidecar; printf '%s\n' "${COMPREPLY[@]}"`
			return completeWith(t, "bash", append([]string{"-c", script, "bash", file}, words...)...)
		},
		"fish": func(t *testing.T, file string, words []string) []string {
			script := `source $argv[1]; complete -C (string join -- ' ' $argv[2..-1])`
			var got []string
			for _, line := range completeWith(t, "fish", append([]string{"-c", script, file}, words...)...) {
				got = append(got, strings.SplitN(line, "\t", 2)[0]) // fish prints "word<TAB>description"
			}
			return got
		},
	}
	files := map[string]string{"bash": "hasidecar.bash", "fish": "hasidecar.fish"}
	for shell, complete := range shells {
		t.Run(shell, func(t *testing.T) {
			if _, err := exec.LookPath(shell); err != nil {
				t.Skipf("%s not installed", shell)
			}
			for _, c := range cases {
				got := complete(t, filepath.Join(comp, files[shell]), c.words)
				slices.Sort(got)
				if !slices.Equal(got, c.want) {
					t.Errorf("%s completes %q to %q, want %q", shell, strings.Join(c.words, " "), got, c.want)
				}
			}
		})
	}
}

// completeWith runs a shell and returns its non-empty output lines.
func completeWith(t *testing.T, shell string, args ...string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, shell, args...)
	cmd.Env = append(cmd.Environ(), "HOME="+t.TempDir(), "XDG_CONFIG_HOME="+t.TempDir(), "XDG_DATA_HOME="+t.TempDir())
	var stderr strings.Builder
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v\n%s", shell, err, stderr.String())
	}
	return slices.DeleteFunc(strings.Split(string(b), "\n"), func(s string) bool { return s == "" })
}
