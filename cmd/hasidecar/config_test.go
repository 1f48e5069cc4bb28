package main

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// cfgFlags is a small command with one flag of each kind.
type cfgFlags struct {
	fs        *flag.FlagSet
	config    string
	listen    string
	policy    string
	heartbeat time.Duration
	maxSlaves int
	classic   bool
	rate      float64
	master    string
	custom    string
}

func newCfgFlags(name string) *cfgFlags {
	c := &cfgFlags{fs: flag.NewFlagSet(name, flag.ContinueOnError)}
	c.fs.SetOutput(io.Discard)
	c.fs.StringVar(&c.config, "config", "", "config file")
	c.fs.StringVar(&c.listen, "listen", "0.0.0.0:10912", "")
	c.fs.StringVar(&c.policy, "ack-policy", "any", "")
	c.fs.DurationVar(&c.heartbeat, "heartbeat", 5*time.Second, "")
	c.fs.IntVar(&c.maxSlaves, "max-slaves", 16, "")
	c.fs.BoolVar(&c.classic, "classic", false, "")
	c.fs.Float64Var(&c.rate, "rate", 0, "")
	c.fs.StringVar(&c.master, "master", "", "")
	c.fs.Func("custom", "", func(s string) error { c.custom = s; return nil })
	return c
}

func writeFile(t *testing.T, name, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func visited(fs *flag.FlagSet) []string {
	var out []string
	fs.Visit(func(fl *flag.Flag) { out = append(out, fl.Name) })
	return out
}

func TestConfigPrecedence(t *testing.T) {
	file := writeFile(t, "m.toml", `
role = "master"
ack-policy = "all"
heartbeat = "2s"
max-slaves = 3
rate = 2.5
custom = 7

[master]
listen = "127.0.0.1:20912"
heartbeat = "3s"

[slave]
master = "never.read:1"
`)
	c := newCfgFlags("master")
	if err := c.fs.Parse([]string{"--max-slaves", "9"}); err != nil {
		t.Fatal(err)
	}
	env := []string{"PATH=/bin", "HASIDECAR_HEARTBEAT=4s", "HASIDECAR_MAX_SLAVES=1", "HASIDECAR_CLASSIC=true"}
	if err := applyConfig(c.fs, file, env); err != nil {
		t.Fatal(err)
	}
	if c.maxSlaves != 9 {
		t.Errorf("max-slaves = %d: the command line must win", c.maxSlaves)
	}
	if c.heartbeat != 4*time.Second {
		t.Errorf("heartbeat = %v: env must win over the file", c.heartbeat)
	}
	if c.listen != "127.0.0.1:20912" || c.policy != "all" || c.rate != 2.5 || c.custom != "7" || !c.classic {
		t.Errorf("listen %q policy %q rate %v custom %q classic %v", c.listen, c.policy, c.rate, c.custom, c.classic)
	}
	if c.master != "" {
		t.Errorf("master = %q: the [slave] table leaked into master", c.master)
	}
	if got := visited(c.fs); !slices.Equal(got, []string{"max-slaves"}) {
		t.Errorf("fs.Visit = %v: must still list only the command line", got)
	}
}

func TestConfigSectionWinsOverTop(t *testing.T) {
	// The slave's "master" flag as a top-level key (TOML then forbids a
	// [master] table in the same file).
	file := writeFile(t, "s.toml", "heartbeat = \"2s\"\nmaster = \"top:1\"\n[slave]\nheartbeat = \"7s\"\n")
	c := newCfgFlags("slave")
	c.fs.Parse(nil)
	if err := applyConfig(c.fs, file, nil); err != nil {
		t.Fatal(err)
	}
	if c.heartbeat != 7*time.Second || c.master != "top:1" {
		t.Errorf("heartbeat %v master %q", c.heartbeat, c.master)
	}
	// In a file for both commands, [master] is the master's table only.
	file = writeFile(t, "both.toml", "[slave]\nmaster = \"m:1\"\n[master]\nlisten = \"x:1\"\n")
	c = newCfgFlags("slave")
	c.fs.Parse(nil)
	if err := applyConfig(c.fs, file, nil); err != nil {
		t.Fatal(err)
	}
	if c.master != "m:1" || c.listen != "0.0.0.0:10912" {
		t.Errorf("master %q listen %q", c.master, c.listen)
	}
}

func TestConfigNoFileEnvOnly(t *testing.T) {
	c := newCfgFlags("master")
	c.fs.Parse(nil)
	if err := applyConfig(c.fs, "", []string{"HASIDECAR_LISTEN=", "HASIDECAR_RATE=1e3", "HASIDECAR_CONFIG=/ignored"}); err != nil {
		t.Fatal(err)
	}
	if c.listen != "" || c.rate != 1000 || c.config != "" {
		t.Errorf("listen %q rate %v config %q", c.listen, c.rate, c.config)
	}
}

func TestConfigFileErrors(t *testing.T) {
	cases := []struct {
		name, text, key string
		want            error
	}{
		{"unknown key", "listn = \"x:1\"\n", "listn", errConfigUnknownKey},
		{"unknown key in table", "[master]\nlistn = \"x:1\"\n", "master.listn", errConfigUnknownKey},
		{"unknown table", "[mastre]\nlisten = \"x:1\"\n", "mastre", errConfigUnknownKey},
		{"config key", "config = \"/x\"\n", "config", errConfigUnknownKey},
		{"duration as int", "heartbeat = 5\n", "heartbeat", errConfigType},
		{"int as string", "max-slaves = \"4\"\n", "max-slaves", errConfigType},
		{"bool as string", "classic = \"yes\"\n", "classic", errConfigType},
		{"string as int", "listen = 10912\n", "listen", errConfigType},
		{"array", "listen = [\"a\"]\n", "listen", errConfigType},
		{"bad duration", "heartbeat = \"5 parsecs\"\n", "heartbeat", errConfigValue},
		{"bad role", "role = \"witness\"\n", "role", errConfigValue},
		{"other role", "role = \"slave\"\n", "role", errConfigRole},
		{"syntax", "listen = \"x:1\n", "", errConfigSyntax},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			file := writeFile(t, "bad.toml", tc.text)
			c := newCfgFlags("master")
			c.fs.Parse(nil)
			err := applyConfig(c.fs, file, nil)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			var ce *configError
			if !errors.As(err, &ce) || ce.ExitCode() != exConfig || ce.Key != tc.key {
				t.Fatalf("err = %#v, want a configError for key %q", err, tc.key)
			}
			if !strings.Contains(err.Error(), file) {
				t.Fatalf("%q does not name the file", err)
			}
		})
	}
}

func TestConfigReportsAllMistakes(t *testing.T) {
	file := writeFile(t, "bad.toml", "listn = 1\nheartbeat = 5\n[master]\nmax-slaves = true\n")
	c := newCfgFlags("master")
	c.fs.Parse(nil)
	err := applyConfig(c.fs, file, nil)
	for _, key := range []string{"listn", "heartbeat", "master.max-slaves"} {
		if !strings.Contains(err.Error(), "key "+key+":") {
			t.Errorf("%q lacks key %s", err, key)
		}
	}
}

func TestConfigMissingFile(t *testing.T) {
	c := newCfgFlags("master")
	err := applyConfig(c.fs, filepath.Join(t.TempDir(), "none.toml"), nil)
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("err = %v, want ErrNotExist", err)
	}
}

func TestConfigEnvErrors(t *testing.T) {
	c := newCfgFlags("master")
	c.fs.Parse(nil)
	err := applyConfig(c.fs, "", []string{"HASIDECAR_HEARTBEAT=soon", "HASIDECAR_UNKNOWN_THING=1"})
	var ce *configError
	if !errors.As(err, &ce) || ce.Key != "HASIDECAR_HEARTBEAT" || ce.Source != "environment" || !errors.Is(err, errConfigValue) {
		t.Fatalf("err = %v", err)
	}
}

// TestReloadChanges: a reload loads the same command line into fresh
// flags over the edited file and environment; changedFlags lists what
// differs from the running flags.
func TestReloadChanges(t *testing.T) {
	file := writeFile(t, "m.toml", "listen = \"a:1\"\nheartbeat = \"2s\"\nack-policy = \"any\"\nmax-slaves = 2\n")
	load := func(environ []string) *cfgFlags {
		c := newCfgFlags("master")
		c.fs.Parse([]string{"--max-slaves=9"})
		if err := applyConfig(c.fs, file, environ); err != nil {
			t.Fatal(err)
		}
		return c
	}
	running := load(nil)
	// The operator edits the file: a new policy, a timeout written another
	// way, listen removed (back to its default), max-slaves still overridden.
	os.WriteFile(file, []byte("heartbeat = \"5000ms\"\nack-policy = \"all\"\nmax-slaves = 3\n"), 0o600)
	fresh := load([]string{"HASIDECAR_CLASSIC=1"})
	if running.policy != "any" || running.heartbeat != 2*time.Second {
		t.Fatal("loading fresh flags touched the running ones")
	}
	got := changedFlags(running.fs, fresh.fs)
	wantCh := []flagChange{{"ack-policy", "any", "all"}, {"classic", "false", "true"}, {"heartbeat", "2s", "5s"}, {"listen", "a:1", "0.0.0.0:10912"}}
	if !slices.Equal(got, wantCh) {
		t.Fatalf("changes = %v, want %v", got, wantCh)
	}
}

func TestConfigPath(t *testing.T) {
	c := newCfgFlags("master")
	c.fs.Parse(nil)
	if got := configPath(c.fs, []string{"HASIDECAR_CONFIG=/env.toml"}); got != "/env.toml" {
		t.Errorf("env: %q", got)
	}
	c.fs.Parse([]string{"--config", "/cli.toml"})
	if got := configPath(c.fs, []string{"HASIDECAR_CONFIG=/env.toml"}); got != "/cli.toml" {
		t.Errorf("cli: %q", got)
	}
}

func TestSplitConfigArg(t *testing.T) {
	for _, tc := range []struct {
		args []string
		file string
		rest []string
	}{
		{[]string{"--config", "/a.toml", "--log-level", "debug"}, "/a.toml", []string{"--log-level", "debug"}},
		{[]string{"-config=/b.toml"}, "/b.toml", []string{}},
		{[]string{"--log-level=info"}, "", []string{"--log-level=info"}},
	} {
		file, rest := splitConfigArg(tc.args)
		if file != tc.file || !slices.Equal(rest, tc.rest) {
			t.Errorf("splitConfigArg(%v) = %q %v", tc.args, file, rest)
		}
	}
}

const goodMasterConfig = `role = "master"
log-level = "info"

[master]
dir = "/var/lib/rocketmq/store/commitlog"
listen = "0.0.0.0:10912"
heartbeat = "5s"
max-slaves = 4
ack-policy = "any"
`

func TestRunConfigCheckOK(t *testing.T) {
	file := writeFile(t, "m.toml", goodMasterConfig)
	env := writeFile(t, "m.env", "# comment\nHASIDECAR_LOG_LEVEL=debug\nHASIDECAR_ACK_POLICY=\"all\"\n")
	var out bytes.Buffer
	if err := runConfig(t.Context(), []string{"check", "--env", env, file}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "OK") {
		t.Fatalf("stdout %q", out.String())
	}
}

func TestRunConfigCheckProblems(t *testing.T) {
	text := strings.Replace(goodMasterConfig, "max-slaves = 4", "max-slaves = \"x\"\nhartbeat = \"1s\"", 1)
	file := writeFile(t, "m.toml", text+"[slave]\nmaster = \"m:1\"\n")
	env := writeFile(t, "m.env", "HASIDECAR_HEARTBEAT=1s\nHASIDECAR_HARTBEAT=1s\n")
	var out bytes.Buffer
	err := runConfig(t.Context(), []string{"check", "--env", env, file}, &out, io.Discard)
	var cf *checkFailed
	if !errors.As(err, &cf) || cf.ExitCode() != 1 || exitCode(err, io.Discard) != 1 {
		t.Fatalf("err = %v, want a checkFailed with exit status 1", err)
	}
	for _, want := range []string{"key master.hartbeat", "key master.max-slaves", "key slave: ", "key HASIDECAR_HARTBEAT"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q lacks %q", err, want)
		}
	}
	if out.Len() != 0 {
		t.Errorf("stdout %q on failure", out.String())
	}
}

func TestRunConfigCheckNoRole(t *testing.T) {
	// `hasidecar run` refuses a file without a role, so does the check;
	// --role checks it for the role that reads it with --config.
	file := writeFile(t, "norole.toml", "log-level = \"debug\"\n[master]\ndir = \"/d\"\nlisten = \"a:1\"\n")
	err := runConfig(t.Context(), []string{"check", file}, io.Discard, io.Discard)
	if !errors.Is(err, errConfigRole) || !strings.Contains(err.Error(), "--role master") {
		t.Fatalf("no role: err = %v", err)
	}
	if err := runConfig(t.Context(), []string{"check", "--role", "master", file}, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	if err := runConfig(t.Context(), []string{"check", "--role", "slave", file}, io.Discard, io.Discard); err == nil {
		t.Fatal("a [master] table passed as a slave's file")
	}
}

func TestRunConfigUsage(t *testing.T) {
	for _, args := range [][]string{nil, {"lint"}, {"check"}, {"check", "a", "b"}, {"check", "--bogus", "a"}} {
		err := runConfig(t.Context(), args, io.Discard, io.Discard)
		if exitCode(err, io.Discard) != 64 {
			t.Errorf("runConfig(%q) = %v, want a usage error", args, err)
		}
	}
}

// FuzzConfigFile: whatever the file holds, loading and resolving it either
// works or returns a configError; it never panics.
func FuzzConfigFile(f *testing.F) {
	for _, s := range []string{goodMasterConfig, "", "role = 1", "[master]\n[master.x]\na=1", "a = [1, {b = 2}]",
		"heartbeat = 1979-05-27T07:32:00Z", "master = \"x\"\n[master]\nlisten = \"y\"", "custom = 1.5\nclassic = true"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		file := filepath.Join(t.TempDir(), "f.toml")
		if err := os.WriteFile(file, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		c := newCfgFlags("master")
		c.fs.Parse(nil)
		err := applyConfig(c.fs, file, nil)
		var ce *configError
		if err != nil && !errors.As(err, &ce) {
			t.Fatalf("error %v is not a configError", err)
		}
	})
}

// TestSystemdExamplesCheck keeps the example files in systemd/ in step with
// the commands' flags.
func TestSystemdExamplesCheck(t *testing.T) {
	env := filepath.Join("..", "..", "systemd", "example.env")
	for _, name := range []string{"master.example.toml", "slave.example.toml"} {
		file := filepath.Join("..", "..", "systemd", name)
		var out bytes.Buffer
		if err := runConfig(t.Context(), []string{"check", "--env", env, file}, &out, io.Discard); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestRunServiceNeedsConfigAndRole(t *testing.T) {
	t.Setenv("HASIDECAR_CONFIG", "")
	if err := runService(t.Context(), nil, io.Discard, io.Discard); exitCode(err, io.Discard) != 64 {
		t.Fatalf("no --config: %v", err)
	}
	file := writeFile(t, "norole.toml", "log-level = \"info\"\n")
	err := runService(t.Context(), []string{"--config", file}, io.Discard, io.Discard)
	if !errors.Is(err, errConfigRole) || exitCode(err, io.Discard) != exConfig {
		t.Fatalf("no role: %v", err)
	}
}

// TestApplyConfigRealMaster fills the real master command from the example.
func TestApplyConfigRealMaster(t *testing.T) {
	var c masterCmd
	fs := c.flags(io.Discard)
	if err := fs.Parse([]string{"--listen", "127.0.0.1:1"}); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join("..", "..", "systemd", "master.example.toml")
	if err := applyConfig(fs, file, []string{"HASIDECAR_MAX_SLAVES=2"}); err != nil {
		t.Fatal(err)
	}
	if c.listen != "127.0.0.1:1" || c.dir != "/var/lib/rocketmq/store/commitlog" || c.cfg.MaxSlaves != 2 || c.cfg.Heartbeat != 5*time.Second {
		t.Fatalf("listen %q dir %q max-slaves %d heartbeat %v", c.listen, c.dir, c.cfg.MaxSlaves, c.cfg.Heartbeat)
	}
}
