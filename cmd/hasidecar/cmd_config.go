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

	"github.com/hasidecar/hasidecar/sidecar"
)

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

// runConfig implements `hasidecar config check`: the file goes through
// the very function the role runs (masterCmd.load, slaveCmd.load), so it
// passes exactly when `hasidecar run` would start, and it touches nothing.
func runConfig(_ context.Context, args []string, stdout, _ io.Writer) error {
	if len(args) > 0 && isHelp(args[0]) {
		return helpRequest{configCheckFlags(new(string), new(string))}
	}
	if len(args) == 0 || args[0] != "check" {
		return flagError{cmd: "config", err: errors.New("want the subcommand check")}
	}
	var envFile, role string
	fs := configCheckFlags(&envFile, &role)
	if err := fs.Parse(args[1:]); err != nil {
		return usageFor(fs, err)
	}
	if fs.NArg() != 1 {
		return flagError{cmd: fs.Name(), err: errors.New("want exactly one FILE")}
	}
	file := fs.Arg(0)
	role, errs := checkConfig(file, envFile, role)
	if len(errs) > 0 {
		return &checkFailed{file: file, errs: errs}
	}
	fmt.Fprintf(stdout, "%s: OK (role %s)\n", file, role)
	return nil
}

func configCheckFlags(envFile, role *string) *flag.FlagSet {
	fs := newFlagSet("config check")
	fs.StringVar(envFile, "env", "", "also check this environment file (systemd EnvironmentFile syntax); the process environment counts too, as for run")
	fs.StringVar(role, "role", "", "the role to check a file without role = against (master or slave), as hasidecar ROLE --config FILE reads it")
	return fs
}

// checkConfig validates file (and envFile unless "") for its role (or
// roleFlag for a file without one) the way the role itself does at start.
// It returns the role checked and every problem found.
func checkConfig(file, envFile, roleFlag string) (string, []error) {
	cf, err := loadConfigFile(file)
	if err != nil {
		return "", []error{err}
	}
	role, err := checkRole(cf, roleFlag)
	if err != nil {
		return "", []error{err}
	}
	environ := os.Environ()
	var fileEnv []string
	if envFile != "" {
		if fileEnv, err = readEnvFile(envFile); err != nil {
			return "", []error{err}
		}
	}
	environ = append(environ, fileEnv...)
	args := []string{"--" + configFlagName, file}
	var fs *flag.FlagSet
	switch role {
	case "master":
		var c masterCmd
		fs = c.flags(io.Discard)
		_, err = c.load(fs, args, environ)
	default:
		var c slaveCmd
		fs = c.flags(io.Discard)
		_, err = c.load(fs, args, environ)
	}
	var errs []error
	if err != nil {
		errs = unjoin(err)
	}
	errs = append(errs, deadTables(cf, []string{role})...)
	errs = append(errs, unknownEnv(fileEnv, envFile, role, fs)...)
	return role, errs
}

// checkRole is the role a file is checked for: its own, else --role. A
// file with neither is refused, since `hasidecar run` refuses it.
func checkRole(cf *configFile, roleFlag string) (string, error) {
	src := "config file " + cf.path
	switch {
	case roleFlag != "" && !slices.Contains(configSections, roleFlag):
		return "", flagError{cmd: "config check", err: fmt.Errorf("--role %q: want master or slave", roleFlag)}
	case cf.role != "" && roleFlag != "" && cf.role != roleFlag:
		return "", &configError{Source: src, Key: roleKey, Err: fmt.Errorf("%w: the file is for %q, not --role %q", errConfigRole, cf.role, roleFlag)}
	case cf.role != "":
		return cf.role, nil
	case roleFlag != "":
		return roleFlag, nil
	}
	return "", &configError{Source: src, Key: roleKey, Err: fmt.Errorf("%w: the file names no role, and `hasidecar run` needs %s = %q or %q "+
		"(for a file given to `hasidecar master --config`, check it with --role master)", errConfigRole, roleKey, configSections[0], configSections[1])}
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

// unknownEnv reports HASIDECAR_* variables of the environment file that
// name no flag of the role (HASIDECAR_CONFIG and HASIDECAR_ZEROCOPY aside): a typo there is
// otherwise silently ignored.
func unknownEnv(environ []string, envFile, role string, fs *flag.FlagSet) []error {
	known := map[string]bool{envName(configFlagName): true, sidecar.ZeroCopyEnv: true}
	fs.VisitAll(func(fl *flag.Flag) { known[envName(fl.Name)] = true })
	var errs []error
	for _, kv := range environ {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, envPrefix) && !known[k] {
			errs = append(errs, &configError{Source: "environment file " + envFile, Key: k,
				Err: fmt.Errorf("%w: names no flag of hasidecar %s", errConfigUnknownKey, role)})
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
	if slices.ContainsFunc(args, isHelp) {
		return helpRequest{newFlagSet("run")}
	}
	file, rest := splitConfigArg(args)
	if file == "" {
		file, _ = lookupEnv(os.Environ(), envName(configFlagName))
	}
	if file == "" {
		return flagError{cmd: "run", err: errors.New("--config FILE (or HASIDECAR_CONFIG) is required")}
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
