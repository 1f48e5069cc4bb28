package meta

import (
	"fmt"
	"path/filepath"
	"strings"
)

// DefaultInclude is the include list when none is given.
var DefaultInclude = []string{"*.json"}

// DefaultMaxFileSize bounds one file when no limit is given.
const DefaultMaxFileSize = 16 << 20

// ValidName checks a base name against the contract: 1..255 bytes, no "/",
// no NUL, no leading "." (which also rules out "." and ".." and the
// client's temporary files).
func ValidName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("name is empty: %w", ErrBadName)
	case len(name) > MaxNameLen:
		return fmt.Errorf("name of %d bytes: %w", len(name), ErrBadName)
	case strings.HasPrefix(name, "."):
		return fmt.Errorf("name %q starts with a dot: %w", name, ErrBadName)
	case strings.ContainsAny(name, "/\x00"):
		return fmt.Errorf("name %q holds a slash or NUL: %w", name, ErrBadName)
	case strings.Contains(name, ".."):
		return fmt.Errorf("name %q holds \"..\": %w", name, ErrBadName)
	}
	return nil
}

// CheckPatterns validates Include patterns (filepath.Match syntax, base
// names only), so that flags can be checked before anything starts.
func CheckPatterns(patterns []string) error {
	for _, p := range patterns {
		if p == "" || strings.Contains(p, "/") {
			return fmt.Errorf("check pattern %q: %w", p, ErrBadPattern)
		}
		if _, err := filepath.Match(p, "x"); err != nil {
			return fmt.Errorf("check pattern %q: %w: %w", p, err, ErrBadPattern)
		}
	}
	return nil
}

// matcher decides which names a side lists or touches.
type matcher []string

func newMatcher(patterns []string) matcher {
	if len(patterns) == 0 {
		return matcher(DefaultInclude)
	}
	return matcher(patterns)
}

// match reports whether name is valid and matches a pattern. A malformed
// pattern matches nothing (CheckPatterns reports it up front).
func (m matcher) match(name string) bool {
	if ValidName(name) != nil {
		return false
	}
	for _, p := range m {
		if ok, err := filepath.Match(p, name); err == nil && ok {
			return true
		}
	}
	return false
}
