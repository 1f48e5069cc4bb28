package main

// The configuration layer: flags, environment variables and a TOML file.
//
// Precedence, highest first: a flag given on the command line, the
// environment variable HASIDECAR_<FLAG> (upper case, dashes as
// underscores: --ack-policy is HASIDECAR_ACK_POLICY), the config file, the
// flag's default.
//
// The config file is TOML. Keys are flag names. Top-level keys apply to
// every command that reads the file; a table named after the command
// ([master], [slave]) applies to that command only and wins over the top
// level. A top-level "role" key ("master" or "slave") names the command the
// file is for: `hasidecar run --config FILE` starts that command, and any
// other command refuses the file. Example:
//
//	role = "master"
//	log-level = "info"
//
//	[master]
//	dir = "/var/lib/rocketmq/store/commitlog"
//	listen = "0.0.0.0:10912"
//	heartbeat = "5s"
//	max-slaves = 4
//
// TOML forbids a key and a table of the same name: the slave's --master
// address goes at the top level only in a file without a [master] table
// (role = "slave"), else inside [slave].
//
// Types are strict: a string flag (sizes such as "32KiB" included) takes a
// TOML string, a duration flag a string such as "5s", an integer flag an
// integer, a boolean flag true or false. Unknown keys, unknown tables and
// wrong types are errors naming the file and the key; so is a value the
// flag refuses.

import (
	"errors"
	"flag"
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

const (
	envPrefix      = "HASIDECAR_"
	configFlagName = "config" // never read from the file or the environment's flag mapping
	roleKey        = "role"
	exConfig       = 78 // sysexits EX_CONFIG; the units' RestartPreventExitStatus
)

// configSections are the commands that may have a table in the file.
var configSections = []string{"master", "slave"}

var (
	errConfigUnknownKey = errors.New("unknown key")
	errConfigType       = errors.New("wrong type")
	errConfigValue      = errors.New("invalid value")
	errConfigRole       = errors.New("wrong role")
	errConfigSyntax     = errors.New("syntax error")
)

// configError is one configuration mistake: where (a config file or the
// environment), which key, and what. Exit status 78 (EX_CONFIG), which the
// systemd unit treats as "do not restart".
type configError struct {
	Source string // "config file /etc/hasidecar/a.toml" or "environment"
	Key    string // "master.listen", "heartbeat" or "HASIDECAR_HEARTBEAT"
	Err    error
}

func (e *configError) Error() string {
	if e.Key == "" {
		return fmt.Sprintf("%s: %v", e.Source, e.Err)
	}
	return fmt.Sprintf("%s: key %s: %v", e.Source, e.Key, e.Err)
}
func (e *configError) Unwrap() error { return e.Err }
func (e *configError) ExitCode() int { return exConfig }

// setting is one value for one flag and where it came from.
type setting struct {
	source, key, value string
}

func (s setting) errorf(format string, a ...any) error {
	return &configError{Source: s.source, Key: s.key, Err: fmt.Errorf(format, a...)}
}

// applyConfig gives every flag not set on the command line its value from
// the environment or the config file (file may be ""; environ is
// os.Environ()). Call it after fs.Parse. It sets values through the flag's
// Value, not fs.Set, so fs.Visit still lists exactly the flags given on the
// command line: reloadValues relies on that. All mistakes are reported
// together (errors.Join of *configError).
func applyConfig(fs *flag.FlagSet, file string, environ []string) error {
	vals, err := layeredValues(fs, file, environ)
	if err != nil {
		return err
	}
	return errors.Join(setAll(fs, vals)...)
}

// setAll sets each value through its flag's Value (so fs.Visit is left
// alone) and returns one error per value the flag refused.
func setAll(fs *flag.FlagSet, vals map[string]setting) []error {
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(vals)) {
		s := vals[name]
		if err := fs.Lookup(name).Value.Set(s.value); err != nil {
			errs = append(errs, s.errorf("%w %q: %v", errConfigValue, s.value, err))
		}
	}
	return errs
}

// flagChange is one flag whose value differs between two FlagSets.
type flagChange struct{ Name, Old, New string }

// changedFlags lists, sorted by name, the flags whose value in fresh (the
// same command's flags, loaded anew) differs from the running ones.
func changedFlags(running, fresh *flag.FlagSet) []flagChange {
	var out []flagChange
	fresh.VisitAll(func(fl *flag.Flag) {
		old := running.Lookup(fl.Name)
		if old == nil || fl.Name == configFlagName {
			return
		}
		if cur, v := old.Value.String(), fl.Value.String(); cur != v {
			out = append(out, flagChange{Name: fl.Name, Old: cur, New: v})
		}
	})
	return out
}

// configPath is the config file to read: --config when given on the
// command line, else $HASIDECAR_CONFIG, else the flag's default ("" when
// the command has no --config flag).
func configPath(fs *flag.FlagSet, environ []string) string {
	fl := fs.Lookup(configFlagName)
	if fl != nil && setOnCommandLine(fs, configFlagName) {
		return fl.Value.String()
	}
	if v, ok := lookupEnv(environ, envName(configFlagName)); ok {
		return v
	}
	if fl != nil {
		return fl.Value.String()
	}
	return ""
}

// layeredValues merges file and environment for the flags not given on the
// command line; env wins over the file.
func layeredValues(fs *flag.FlagSet, file string, environ []string) (map[string]setting, error) {
	vals := map[string]setting{}
	if file != "" {
		cf, err := loadConfigFile(file)
		if err != nil {
			return nil, err
		}
		fv, errs := cf.settings(fs)
		if len(errs) > 0 {
			return nil, errors.Join(errs...)
		}
		vals = fv
	}
	maps.Copy(vals, envSettings(fs, environ))
	for name := range vals {
		if setOnCommandLine(fs, name) {
			delete(vals, name)
		}
	}
	return vals, nil
}

// envSettings finds HASIDECAR_<FLAG> for each flag of fs. A variable that
// is present counts even when empty (HASIDECAR_ACK_SOCKET= turns the socket
// off). Variables matching no flag are ignored: one environment file may
// serve several commands.
func envSettings(fs *flag.FlagSet, environ []string) map[string]setting {
	out := map[string]setting{}
	fs.VisitAll(func(fl *flag.Flag) {
		if fl.Name == configFlagName {
			return
		}
		name := envName(fl.Name)
		if v, ok := lookupEnv(environ, name); ok {
			out[fl.Name] = setting{source: "environment", key: name, value: v}
		}
	})
	return out
}

func envName(flagName string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// lookupEnv finds a variable in an os.Environ()-style list; the last
// assignment wins, as in the shell.
func lookupEnv(environ []string, name string) (string, bool) {
	var val string
	found := false
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok && k == name {
			val, found = v, true
		}
	}
	return val, found
}

func setOnCommandLine(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(fl *flag.Flag) { set = set || fl.Name == name })
	return set
}

// flagKind is what a flag's value is, for type checks and normalization.
type flagKind int

const (
	kindOther flagKind = iota // custom flag.Value: any scalar, as text
	kindString
	kindBool
	kindInt
	kindUint
	kindFloat
	kindDuration
)

func (k flagKind) String() string {
	return [...]string{"a scalar", "a string", "a boolean", "an integer", "a non-negative integer",
		"a number", `a duration string such as "5s"`}[k]
}

func kindOf(fl *flag.Flag) flagKind {
	g, ok := fl.Value.(flag.Getter)
	if !ok {
		if b, ok := fl.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
			return kindBool
		}
		return kindOther
	}
	switch g.Get().(type) {
	case string:
		return kindString
	case bool:
		return kindBool
	case int, int64:
		return kindInt
	case uint, uint64:
		return kindUint
	case float64:
		return kindFloat
	case time.Duration:
		return kindDuration
	}
	return kindOther
}

// tomlText turns a decoded TOML value into the flag's text, refusing a TOML
// type that does not fit the flag.
func tomlText(kind flagKind, v any) (string, error) {
	switch x := v.(type) {
	case string:
		if kind == kindString || kind == kindDuration || kind == kindOther {
			return x, nil
		}
	case bool:
		if kind == kindBool || kind == kindOther {
			return strconv.FormatBool(x), nil
		}
	case int64:
		if kind == kindInt || kind == kindUint || kind == kindFloat || kind == kindOther {
			return strconv.FormatInt(x, 10), nil
		}
	case float64:
		if kind == kindFloat || kind == kindOther {
			return strconv.FormatFloat(x, 'g', -1, 64), nil
		}
	}
	return "", fmt.Errorf("%w: want %s, got %s", errConfigType, kind, tomlTypeName(v))
}

func tomlTypeName(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case int64:
		return "an integer"
	case float64:
		return "a float"
	case []any, []map[string]any:
		return "an array"
	case map[string]any:
		return "a table"
	case time.Time:
		return "a date-time"
	}
	return fmt.Sprintf("%T", v)
}

// configFile is a decoded config file, split into its parts.
type configFile struct {
	path     string
	role     string                    // "" when the file names none
	top      map[string]any            // top-level flag keys
	sections map[string]map[string]any // [master], [slave]
}

// loadConfigFile reads and decodes path. Syntax errors carry the line.
func loadConfigFile(path string) (*configFile, error) {
	src := "config file " + path
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, &configError{Source: src, Err: err}
	}
	var raw map[string]any
	if err := toml.Unmarshal(b, &raw); err != nil {
		return nil, &configError{Source: src, Err: fmt.Errorf("%w: %v", errConfigSyntax, err)}
	}
	cf := &configFile{path: path, top: map[string]any{}, sections: map[string]map[string]any{}}
	for k, v := range raw {
		tbl, isTable := v.(map[string]any)
		switch {
		case k == roleKey:
			role, ok := v.(string)
			if !ok || !slices.Contains(configSections, role) {
				return nil, &configError{Source: src, Key: roleKey,
					Err: fmt.Errorf("%w: want one of %q, got %v", errConfigValue, configSections, v)}
			}
			cf.role = role
		case isTable && slices.Contains(configSections, k):
			cf.sections[k] = tbl
		default:
			cf.top[k] = v
		}
	}
	return cf, nil
}

// settings returns the file's values for the flags of fs (fs.Name() picks
// the table) and every mistake in the keys that apply to it. The tables of
// other commands are not looked at here: their command checks them, and so
// does `hasidecar config check`.
func (cf *configFile) settings(fs *flag.FlagSet) (map[string]setting, []error) {
	src := "config file " + cf.path
	if cf.role != "" && cf.role != fs.Name() {
		return nil, []error{&configError{Source: src, Key: roleKey,
			Err: fmt.Errorf("%w: the file is for %q, not %q", errConfigRole, cf.role, fs.Name())}}
	}
	out := map[string]setting{}
	var errs []error
	add := func(prefix string, kv map[string]any) {
		for _, k := range slices.Sorted(maps.Keys(kv)) {
			s, err := fileSetting(fs, src, prefix+k, k, kv[k])
			if err != nil {
				errs = append(errs, err)
				continue
			}
			out[k] = s
		}
	}
	add("", cf.top)
	add(fs.Name()+".", cf.sections[fs.Name()]) // a command's table wins over the top level
	return out, errs
}

// fileSetting checks one key against fs and converts its value.
func fileSetting(fs *flag.FlagSet, src, key, name string, v any) (setting, error) {
	fail := func(err error) (setting, error) { return setting{}, &configError{Source: src, Key: key, Err: err} }
	if name == configFlagName {
		return fail(fmt.Errorf("%w: the config file cannot name another config file", errConfigUnknownKey))
	}
	fl := fs.Lookup(name)
	if fl == nil {
		if _, ok := v.(map[string]any); ok {
			return fail(fmt.Errorf("%w: unknown table (want %q)", errConfigUnknownKey, configSections))
		}
		return fail(fmt.Errorf("%w: not a flag of hasidecar %s", errConfigUnknownKey, fs.Name()))
	}
	text, err := tomlText(kindOf(fl), v)
	if err != nil {
		return fail(err)
	}
	return setting{source: src, key: key, value: text}, nil
}
