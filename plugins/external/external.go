package external

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hashicorp/go-plugin"
	"go.uber.org/zap"

	"github.com/hasidecar/hasidecar/plugins"
	"github.com/hasidecar/hasidecar/plugins/shared"
)

// Sentinel errors of this package; test them with errors.Is.
var (
	// ErrUnavailable means the plugin is down (crashed or hung, restart
	// pending): retry later. It never means "no more data".
	ErrUnavailable = errors.New("external: layout plugin unavailable")
	// ErrInfoChanged means a restarted plugin reported another Info than the
	// first one: the host refuses every call from then on.
	ErrInfoChanged = errors.New("external: layout plugin changed its Info")
)

// Defaults for Options.
const (
	DefaultCallTimeout  = 5 * time.Second
	DefaultStartTimeout = 30 * time.Second
	DefaultMinBackoff   = 100 * time.Millisecond
	DefaultMaxBackoff   = 30 * time.Second
)

// Options configures Start.
type Options struct {
	// Path is the plugin binary.
	Path string
	// Args are its command-line arguments.
	Args []string
	// Env holds extra "KEY=value" variables for the plugin, on top of the
	// host's environment (they win over it).
	Env []string
	// CallTimeout bounds every call; a call that takes longer counts as a
	// hang. 0 means DefaultCallTimeout.
	CallTimeout time.Duration
	// StartTimeout bounds the plugin's start-up handshake. 0 means
	// DefaultStartTimeout.
	StartTimeout time.Duration
	// MinBackoff and MaxBackoff bound the delay before a restart; it doubles
	// with every failure in a row. 0 means the defaults.
	MinBackoff, MaxBackoff time.Duration
}

func (o *Options) setDefaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.CallTimeout, DefaultCallTimeout)
	def(&o.StartTimeout, DefaultStartTimeout)
	def(&o.MinBackoff, DefaultMinBackoff)
	def(&o.MaxBackoff, DefaultMaxBackoff)
	o.MaxBackoff = max(o.MaxBackoff, o.MinBackoff)
}

// proc is one running incarnation of the plugin.
type proc struct {
	client *plugin.Client
	cmd    *exec.Cmd
	rpc    *shared.LayoutRPC
	pid    int
	served atomic.Bool // a call succeeded: it was healthy for a while
}

// failure is a proc the supervisor must reap and replace.
type failure struct {
	p      *proc
	hung   bool
	method string
	err    error
}

// Layout is a plugins.Layout served by a plugin process. It is safe for
// concurrent use. Its supervisor goroutine runs from Start until Close.
type Layout struct {
	log   *zap.Logger
	opts  Options
	info  plugins.Info
	names nameCache

	mu     sync.Mutex
	cur    *proc         // nil while down
	up     chan struct{} // closed when cur is set, fatal is set or closed
	fatal  error         // ErrInfoChanged, for good
	closed bool

	failed chan failure // capacity 1: at most one live proc can fail
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

var _ plugins.Layout = (*Layout)(nil)

// Start launches the plugin binary, fetches its Info once and starts the
// supervisor. Bad options or an invalid Info yield an error wrapping
// plugins.ErrBadConfig; no process is left running on error.
func Start(log *zap.Logger, opts Options) (*Layout, error) {
	if log == nil {
		log = zap.NewNop()
	}
	if opts.Path == "" {
		return nil, fmt.Errorf("start layout plugin: no path: %w", plugins.ErrBadConfig)
	}
	opts.setDefaults()
	l := &Layout{log: log, opts: opts, failed: make(chan failure, 1), up: make(chan struct{})}
	p, err := l.launch()
	if err != nil {
		return nil, fmt.Errorf("start layout plugin %s: %w", opts.Path, err)
	}
	info, err := p.rpc.Describe()
	if err == nil {
		err = info.Check()
	}
	if err != nil {
		l.kill(p)
		return nil, fmt.Errorf("start layout plugin %s: info: %w", opts.Path, err)
	}
	l.info, l.cur = info, p
	close(l.up)
	l.ctx, l.cancel = context.WithCancel(context.Background())
	l.wg.Add(1)
	go l.supervise()
	log.Info("layout plugin started", zap.String("path", opts.Path), zap.Int("pid", p.pid), zap.Stringer("layout", info))
	return l, nil
}

// launch starts one plugin process and dispenses its layout.
func (l *Layout) launch() (*proc, error) {
	cmd := exec.Command(l.opts.Path, l.opts.Args...)
	// SkipHostEnv below: go-plugin would otherwise append the host's
	// environment after ours, and the last duplicate wins.
	cmd.Env = append(os.Environ(), l.opts.Env...)
	// A host killed with SIGKILL cannot stop its plugin; the kernel does it
	// for us. (Linux sends it when the thread that started the plugin exits;
	// Go keeps its threads, and a restart after such an exit is harmless.)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out := &lineLogger{z: l.log.With(zap.String("path", l.opts.Path))}
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  shared.Handshake,
		Plugins:          shared.PluginMap,
		Cmd:              cmd,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolNetRPC},
		Managed:          false,
		AutoMTLS:         false,
		SkipHostEnv:      true,
		StartTimeout:     l.opts.StartTimeout,
		Logger:           newZapHCLog(l.log),
		SyncStdout:       out,
		SyncStderr:       out,
	})
	rpcClient, err := client.Client()
	if err != nil {
		client.Kill()
		return nil, fmt.Errorf("launch: %w", err)
	}
	raw, err := rpcClient.Dispense(shared.PluginName)
	if err != nil {
		client.Kill()
		return nil, fmt.Errorf("dispense %s: %w", shared.PluginName, err)
	}
	lr, ok := raw.(*shared.LayoutRPC)
	if !ok {
		client.Kill()
		return nil, fmt.Errorf("dispense %s: got %T: %w", shared.PluginName, raw, plugins.ErrBadConfig)
	}
	return &proc{client: client, cmd: cmd, rpc: lr.WithTimeout(l.opts.CallTimeout), pid: cmd.Process.Pid}, nil
}

// kill ends p for certain (SIGKILL: a hung plugin may not honour a polite
// request), waits for go-plugin's goroutines, and returns the exit status.
func (l *Layout) kill(p *proc) string {
	_ = p.cmd.Process.Kill() // fails only if it already exited
	p.client.Kill()
	if st := p.cmd.ProcessState; st != nil {
		return st.String()
	}
	return "unknown"
}

// Info implements plugins.Layout: the Info the plugin reported at Start.
func (l *Layout) Info() plugins.Info { return l.info }

// Pid returns the plugin's current process id, 0 while it is down.
func (l *Layout) Pid() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cur == nil {
		return 0
	}
	return l.cur.pid
}

// Close kills the plugin process and stops the supervisor. It waits for
// both; later calls return plugins.ErrClosed.
func (l *Layout) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	p := l.cur
	l.cur = nil
	l.wake()
	l.mu.Unlock()
	l.cancel()
	l.wg.Wait()
	if p != nil {
		l.kill(p)
	}
	select {
	case f := <-l.failed: // failed just before Close; the supervisor left it
		l.kill(f.p)
	default:
	}
	l.log.Info("layout plugin stopped", zap.String("path", l.opts.Path))
	return nil
}

// wake closes l.up unless it is closed already. Callers hold l.mu.
func (l *Layout) wake() {
	select {
	case <-l.up:
	default:
		close(l.up)
	}
}
