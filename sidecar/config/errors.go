package config

import (
	"errors"
	"fmt"
)

// ErrInvalid is what every validation error wraps.
var ErrInvalid = errors.New("config: invalid setting")

// FieldError is one setting that is out of bounds, missing, or at odds with
// another. Name is the setting's key (the flag name, TOML key and
// HASIDECAR_<NAME> variable), so that a caller can say where it came from.
type FieldError struct {
	Name  string
	Value string // the setting's value as text ("" for a missing one)
	Err   error
}

func (e *FieldError) Error() string {
	if e.Value == "" {
		return fmt.Sprintf("%s: %v", e.Name, e.Err)
	}
	return fmt.Sprintf("%s %q: %v", e.Name, e.Value, e.Err)
}

func (e *FieldError) Unwrap() error { return e.Err }

// check collects FieldErrors.
type check struct{ errs []error }

func (c *check) fail(name, value, format string, a ...any) {
	c.errs = append(c.errs, &FieldError{Name: name, Value: value, Err: invalid(fmt.Sprintf(format, a...))})
}

// invalid is a rule's message; it is ErrInvalid, without repeating it.
type invalid string

func (e invalid) Error() string { return string(e) }
func (e invalid) Unwrap() error { return ErrInvalid }

func (c *check) err() error { return errors.Join(c.errs...) }
