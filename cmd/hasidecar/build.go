package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"

	"github.com/hasidecar/hasidecar/plugins/bytesize"
	"github.com/hasidecar/hasidecar/sidecar/config"
)

// fieldErrs collects the mistakes found while turning flag text into a
// typed configuration; each is a *config.FieldError naming the flag.
type fieldErrs []error

func (p *fieldErrs) add(name, value string, err error) {
	*p = append(*p, &config.FieldError{Name: name, Value: value, Err: err})
}

func (p *fieldErrs) size(name, s string) int64 {
	n, err := bytesize.Parse(s)
	if err != nil {
		p.add(name, s, err)
	}
	return n
}

func (p *fieldErrs) octal(name, s string) os.FileMode {
	n, err := strconv.ParseUint(s, 8, 32)
	if err != nil {
		p.add(name, s, errors.New("want an octal mode such as 0660"))
	}
	return os.FileMode(n)
}

// loaded is a command's flags after the command line, the environment and
// the config file: where each value not from the command line came from.
type loaded struct {
	fs      *flag.FlagSet
	sources map[string]setting
}

// loadFlags parses args into fs and layers the environment and the config
// file under them. It changes nothing outside fs.
func loadFlags(fs *flag.FlagSet, args, environ []string) (*loaded, error) {
	if err := parseFlags(fs, args); err != nil {
		return nil, err
	}
	vals, err := layeredValues(fs, configPath(fs, environ), environ)
	if err != nil {
		return nil, err
	}
	if err := errors.Join(setAll(fs, vals)...); err != nil {
		return nil, err
	}
	return &loaded{fs: fs, sources: vals}, nil
}

// given reports whether a flag was set on the command line, in the
// environment or in the file (not left at its default).
func (l *loaded) given(name string) bool {
	_, ok := l.sources[name]
	return ok || setOnCommandLine(l.fs, name)
}

// blame says where each invalid setting came from: a value from the file
// or the environment is a configuration error (exit 78, the unit does not
// restart), one from the command line or a default a usage error (64).
func (l *loaded) blame(err error) error {
	if err == nil {
		return nil
	}
	var out []error
	for _, e := range unjoin(err) {
		var fe *config.FieldError
		if !errors.As(e, &fe) {
			out = append(out, e)
			continue
		}
		if s, ok := l.sources[fe.Name]; ok {
			out = append(out, &configError{Source: s.source, Key: s.key, Err: e})
			continue
		}
		out = append(out, usageError{fmt.Errorf("--%w", e)})
	}
	return joinExit(out)
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// joinExit joins errs; the exit status is the first one's.
func joinExit(errs []error) error {
	if len(errs) == 1 {
		return errs[0]
	}
	return exitJoin{errors.Join(errs...), errs[0]}
}

type exitJoin struct{ all, first error }

func (e exitJoin) Error() string   { return e.all.Error() }
func (e exitJoin) Unwrap() []error { return unjoin(e.all) }
func (e exitJoin) ExitCode() int {
	var ec exitCoder
	if errors.As(e.first, &ec) {
		return ec.ExitCode()
	}
	return 1
}
