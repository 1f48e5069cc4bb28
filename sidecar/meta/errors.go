package meta

import (
	"errors"
	"fmt"
)

// Sentinels. Callers test with errors.Is; messages carry the details.
var (
	// ErrProtocol means the peer sent bytes that do not follow the wire
	// protocol (bad type, bad length, a length over a bound, a bad name).
	ErrProtocol = errors.New("meta: protocol error")
	// ErrServer means the server answered a request with ERROR.
	ErrServer = errors.New("meta: server error")
	// ErrBadName means a file name the contract does not allow.
	ErrBadName = errors.New("meta: invalid file name")
	// ErrVanished means the file disappeared between listing and reading.
	ErrVanished = errors.New("meta: file vanished")
	// ErrUnreadable means the entry is not a readable regular file.
	ErrUnreadable = errors.New("meta: file unreadable")
	// ErrTooLarge means the file exceeds the size limit.
	ErrTooLarge = errors.New("meta: file too large")
	// ErrUnstable means the file kept changing while it was read.
	ErrUnstable = errors.New("meta: file unstable")
	// ErrChecksum means received content does not match its sha256.
	ErrChecksum = errors.New("meta: checksum mismatch")
	// ErrBadPattern means an Include pattern is malformed.
	ErrBadPattern = errors.New("meta: invalid include pattern")
)

// Status is a per-file outcome on the wire.
type Status uint8

// Status codes, as documented in doc.go.
const (
	StatusOK Status = iota
	StatusVanished
	StatusUnreadable
	StatusTooLarge
	StatusUnstable
	StatusBadName
)

var statusErr = map[Status]error{
	StatusVanished:   ErrVanished,
	StatusUnreadable: ErrUnreadable,
	StatusTooLarge:   ErrTooLarge,
	StatusUnstable:   ErrUnstable,
	StatusBadName:    ErrBadName,
}

// Err returns the sentinel for a non-OK status, nil for OK.
func (s Status) Err() error {
	if s == StatusOK {
		return nil
	}
	if e, ok := statusErr[s]; ok {
		return e
	}
	return fmt.Errorf("status %d: %w", s, ErrProtocol)
}

func (s Status) valid() bool { return s <= StatusBadName }

// statusOf maps an error from the file reader to its wire status.
// The statuses are tried in their numeric order, so an error that wraps
// two sentinels always maps to the same one.
func statusOf(err error) Status {
	for st := StatusOK + 1; st.valid(); st++ {
		if e, ok := statusErr[st]; ok && errors.Is(err, e) {
			return st
		}
	}
	return StatusUnreadable
}

// FileError is one file's failure, on either side.
type FileError struct {
	Name   string
	Reason string // what the server or the local step said
	Err    error  // a sentinel above, or an OS error
}

func (e *FileError) Error() string {
	return fmt.Sprintf("meta file %s: %s", e.Name, e.Reason)
}

func (e *FileError) Unwrap() error { return e.Err }
