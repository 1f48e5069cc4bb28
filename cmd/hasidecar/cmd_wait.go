package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/hasidecar/hasidecar/sidecar/ack"
	"github.com/hasidecar/hasidecar/sidecar/ackclient"
)

// Exit codes of `hasidecar wait`.
const (
	waitCodeError        = 1
	waitCodeTimeout      = 2
	waitCodeNotAvailable = 3
)

// waitExit carries the exit code `wait` and `status` choose.
type waitExit struct {
	code int
	err  error
}

func (e waitExit) Error() string { return e.err.Error() }
func (e waitExit) Unwrap() error { return e.err }
func (e waitExit) ExitCode() int { return e.code }

// runWait asks the master's ack socket whether an offset is replicated:
// exit 0 OK, 2 timeout (the master's TIMEOUT answer), 3 not available, 1
// other errors (no answer from the master included), 64 usage.
func runWait(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("wait")
	socket := fs.String("socket", "", "the master's ack socket (--ack-socket of hasidecar master)")
	offset := fs.Int64("offset", -1, "the end offset that must be replicated")
	timeout := fs.Duration("timeout", 5*time.Second, "how long to wait for the slaves")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case *socket == "":
		return usageError{errors.New("wait: --socket is required")}
	case *offset < 0:
		return usageError{errors.New("wait: --offset is required and must be >= 0")}
	case *timeout <= 0:
		return usageError{errors.New("wait: --timeout must be > 0")}
	}
	dctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	cl, err := ackclient.Dial(dctx, *socket)
	if err != nil {
		return waitExit{waitCodeError, err}
	}
	defer cl.Close()
	// The master answers TIMEOUT itself at --timeout, with the committed
	// offset; the client waits a margin longer for that answer and never
	// makes one up (no answer is an error, exit 1).
	res, err := cl.WaitTimeout(ctx, *offset, *timeout)
	if errors.Is(err, ackclient.ErrNoAnswer) {
		return waitExit{waitCodeError, fmt.Errorf("the master did not answer: %w", err)}
	}
	if err != nil {
		return waitExit{waitCodeError, err}
	}
	return waitResult(stdout, *offset, res)
}

func waitResult(stdout io.Writer, off int64, res ack.Result) error {
	switch res.Status {
	case ack.OK:
		fmt.Fprintf(stdout, "OK offset=%d acked=%d\n", off, res.Acked)
		return nil
	case ack.Timeout:
		return waitExit{waitCodeTimeout, fmt.Errorf("wait offset %d: TIMEOUT (acked %d)", off, res.Acked)}
	case ack.NotAvailable:
		return waitExit{waitCodeNotAvailable, fmt.Errorf("wait offset %d: NOT_AVAILABLE: %s", off, res.Reason)}
	}
	return waitExit{waitCodeError, fmt.Errorf("wait offset %d: unexpected status %s", off, res.Status)}
}
