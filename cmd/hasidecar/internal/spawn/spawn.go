package spawn

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// Child is a subprocess of the hasidecar binary.
type Child struct {
	name string
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited; err is then set
	err  error
}

// Start runs `exe args...` with its output in logPath. It is stopped with
// SIGTERM when ctx ends, and killed if it lingers.
func Start(ctx context.Context, exe, name, logPath string, args ...string) (*Child, error) {
	out, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("create %s log: %w", name, err)
	}
	cmd := exec.CommandContext(ctx, exe, args...)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 10 * time.Second
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		out.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	c := &Child{name: name, cmd: cmd, done: make(chan struct{})}
	go func() {
		c.err = cmd.Wait()
		out.Close()
		close(c.done)
	}()
	return c, nil
}

// Done is closed when the process has exited; Err is then its result.
func (c *Child) Done() <-chan struct{} { return c.done }

// Pid is the process id (bench reads its CPU time from /proc).
func (c *Child) Pid() int { return c.cmd.Process.Pid }

// Err is the process's exit error, once Done is closed.
func (c *Child) Err() error { return c.err }

// Stop sends SIGTERM and waits up to d before killing. It may be called
// again after the process has exited.
func (c *Child) Stop(d time.Duration) error {
	select {
	case <-c.done:
		return c.err
	default:
	}
	c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
		return c.err
	case <-time.After(d):
		c.cmd.Process.Kill()
		<-c.done
		return fmt.Errorf("%s did not stop within %v; killed", c.name, d)
	}
}

// FreePort returns a loopback address with a port free at this moment.
func FreePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// WaitSocket waits until path exists (a child's Unix socket is up).
func WaitSocket(ctx context.Context, path string, d time.Duration) error {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if c, err := net.Dial("unix", path); err == nil {
			c.Close()
			return nil
		}
		if !SleepUntil(ctx, time.Now().Add(20*time.Millisecond)) {
			return ctx.Err()
		}
	}
	return fmt.Errorf("socket %s did not come up within %v", filepath.Base(path), d)
}

// SleepUntil waits until t or ctx's end; false means ctx ended first.
func SleepUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return true
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-timer.C:
		return true
	}
}
