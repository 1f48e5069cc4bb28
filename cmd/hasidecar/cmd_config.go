package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
)

const configUsage = `Usage:
  hasidecar config check [--env ENVFILE] FILE

Checks a configuration file: TOML syntax, the role, every key a flag of the
command it applies to, every value of the right type and accepted by the
flag. With --env, also checks a systemd EnvironmentFile: every HASIDECAR_*
variable must name a flag. Prints "FILE: OK" or the problems (exit status 1).
`

// checkFailed is the answer of a config check that found problems.
type checkFailed struct {
	file string
	errs []error
}

func (e *checkFailed) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "config check %s: %d problem(s):", e.file, len(e.errs))
	for _, err := range e.errs {
		b.WriteString("\n  ")
		b.WriteString(err.Error())
	}
	return b.String()
}
func (e *checkFailed) Unwrap() []error { return e.errs }
func (e *checkFailed) ExitCode() int   { return 1 }

// runConfig implements `hasidecar config check`.
func runConfig(_ context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "check" {
		fmt.Fprint(stderr, configUsage)
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
			return flag.ErrHelp
		}
		return usageError{errors.New("config: want the subcommand check")}
	}
	fs := flag.NewFlagSet("config check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, configUsage) }
	envFile := fs.String("env", "", "also check this environment file (systemd EnvironmentFile syntax)")
	if err := fs.Parse(args[1:]); err != nil {
		return usageFor(err)
	}
	if fs.NArg() != 1 {
		return usageError{errors.New("config check: want exactly one FILE")}
	}
	file := fs.Arg(0)
	role, errs := checkConfig(file, *envFile, commandFlagSets(io.Discard))
	if len(errs) > 0 {
		return &checkFailed{file: file, errs: errs}
	}
	fmt.Fprintf(stdout, "%s: OK (role %s)\n", file, role)
	return nil
}

// checkConfig validates file (and envFile unless "") against the commands'
// FlagSets, which it may modify: pass fresh ones. It returns the role(s)
// checked, for the OK line, and every problem found.
func checkConfig(file, envFile string, sets map[string]*flag.FlagSet) (string, []error) {
	cf, err := loadConfigFile(file)
	if err != nil {
		return "", []error{err}
	}
	roles := configSections
	if cf.role != "" {
		roles = []string{cf.role}
	}
	var environ []string
	if envFile != "" {
		if environ, err = readEnvFile(envFile); err != nil {
			return "", []error{err}
		}
	}
	var errs []error
	for _, r := range roles {
		fs := sets[r]
		if fs == nil {
			errs = append(errs, fmt.Errorf("no command %q to check against", r))
			continue
		}
		vals, ferrs := cf.settings(fs)
		errs = append(errs, ferrs...)
		maps.Copy(vals, envSettings(fs, environ))
		errs = append(errs, setAll(fs, vals)...)
	}
	errs = append(errs, deadTables(cf, roles)...)
	errs = append(errs, unknownEnv(environ, envFile, roles, sets)...)
	if len(errs) > 0 && cf.role == "" {
		errs = append(errs, fmt.Errorf("hint: without %s = %q or %q the top-level keys must suit both commands",
			roleKey, configSections[0], configSections[1]))
	}
	return strings.Join(roles, ","), errs
}

// deadTables reports tables no checked command reads: with role = "master"
// a [slave] table is a mistake, not a harmless extra.
func deadTables(cf *configFile, roles []string) []error {
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(cf.sections)) {
		if !slices.Contains(roles, name) {
			errs = append(errs, &configError{Source: "config file " + cf.path, Key: name,
				Err: fmt.Errorf("%w: table [%s] is never read: the file's role is %q", errConfigUnknownKey, name, cf.role)})
		}
	}
	return errs
}

// unknownEnv reports HASIDECAR_* variables that name no flag of the
// checked commands (HASIDECAR_CONFIG aside): a typo there is otherwise
// silently ignored.
func unknownEnv(environ []string, envFile string, roles []string, sets map[string]*flag.FlagSet) []error {
	known := map[string]bool{envName(configFlagName): true}
	for _, r := range roles {
		if fs := sets[r]; fs != nil {
			fs.VisitAll(func(fl *flag.Flag) { known[envName(fl.Name)] = true })
		}
	}
	var errs []error
	for _, kv := range environ {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, envPrefix) && !known[k] {
			errs = append(errs, &configError{Source: "environment file " + envFile, Key: k,
				Err: fmt.Errorf("%w: names no flag of hasidecar %s", errConfigUnknownKey, strings.Join(roles, " or "))})
		}
	}
	return errs
}

// readEnvFile reads the subset of systemd's EnvironmentFile syntax that
// matters here: KEY=VALUE lines, blank lines and #/; comments, values
// optionally in double or single quotes. Line continuations are not
// supported.
func readEnvFile(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, &configError{Source: "environment file " + path, Err: err}
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return nil, &configError{Source: "environment file " + path, Key: "line " + strconv.Itoa(n),
				Err: fmt.Errorf("%w: want KEY=VALUE", errConfigSyntax)}
		}
		out = append(out, strings.TrimSpace(k)+"="+unquote(strings.TrimSpace(v)))
	}
	if err := sc.Err(); err != nil {
		return nil, &configError{Source: "environment file " + path, Err: err}
	}
	return out, nil
}

func unquote(v string) string {
	if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
		return v[1 : len(v)-1]
	}
	return v
}

// runService implements `hasidecar run --config FILE [flags]`, the systemd
// unit's entry point: it reads the file's role and runs that command with
// --config FILE and the remaining flags.
func runService(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	file, rest := splitConfigArg(args)
	if file == "" {
		file, _ = lookupEnv(os.Environ(), envName(configFlagName))
	}
	if file == "" {
		return usageError{errors.New("run: --config FILE (or HASIDECAR_CONFIG) is required")}
	}
	cf, err := loadConfigFile(file)
	if err != nil {
		return err
	}
	if cf.role == "" {
		return &configError{Source: "config file " + file, Key: roleKey,
			Err: fmt.Errorf("%w: `hasidecar run` needs %s = %q or %q", errConfigRole, roleKey, configSections[0], configSections[1])}
	}
	cmd, ok := commands()[cf.role]
	if !ok {
		return fmt.Errorf("run: no command %q", cf.role)
	}
	return cmd(ctx, append([]string{"--" + configFlagName, file}, rest...), stdout, stderr)
}

// splitConfigArg takes --config FILE / --config=FILE (one or two dashes)
// out of args and returns it and the other arguments.
func splitConfigArg(args []string) (string, []string) {
	var file string
	rest := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		a := args[i]
		name, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !strings.HasPrefix(a, "-") || name != configFlagName {
			rest = append(rest, a)
			continue
		}
		if !hasVal && i+1 < len(args) {
			i++
			val = args[i]
		}
		file = val
	}
	return file, rest
}
