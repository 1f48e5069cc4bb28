package ack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"time"

	"go.uber.org/zap"

	"github.com/hasidecar/hasidecar/sidecar/acceptloop"
)

// Hinter is the tailer: "data up to off is written by the writer", so it
// can ship the writer's last record at once instead of waiting to settle.
type Hinter interface{ Hint(off int64) }

// ServerOptions configures the Unix socket service.
type ServerOptions struct {
	// Path of the socket file.
	Path string
	// Mode of the socket file; 0 means 0660.
	Mode os.FileMode
	// MaxTimeout clamps each WAIT's timeout; 0 means one minute.
	MaxTimeout time.Duration
	// Observe, if set, is told each WAIT's result and how long it took
	// (for the sync-commit metrics). It may be called with the tracker's
	// lock held: it must be quick and must not call the tracker.
	Observe func(status Status, took time.Duration)
	// MaxConns caps open connections; one more is answered the preamble
	// status PreambleBusy and closed. 0 means DefaultMaxConns.
	MaxConns int
	// MaxWaits caps outstanding WAITs across all connections; one more is
	// answered ERROR(CodeBusy). 0 means DefaultMaxWaits.
	MaxWaits int
}

// Defaults of ServerOptions' caps.
const (
	DefaultMaxConns = 1024
	DefaultMaxWaits = 1 << 16
	// maxRefusing bounds the goroutines answering refused connections;
	// past it a refused connection is closed without a word.
	maxRefusing = 16
	// refuseTimeout bounds one refusal's exchange of preambles.
	refuseTimeout = time.Second
)

// Server serves the ack protocol (doc.go) on a Unix socket.
type Server struct {
	log  *zap.Logger
	opts ServerOptions
	tr   *Tracker
	h    Hinter

	mu       sync.Mutex
	conns    map[net.Conn]struct{}
	nextID   uint64
	refusing int            // refusal goroutines running
	refusals refusalLog     // guarded by mu
	wg       sync.WaitGroup // one per connection or refusal goroutine
}

// NewServer returns a server answering from tr and hinting h (may be nil).
func NewServer(log *zap.Logger, opts ServerOptions, tr *Tracker, h Hinter) *Server {
	if log == nil {
		log = zap.NewNop()
	}
	if opts.Mode == 0 {
		opts.Mode = 0o660
	}
	if opts.MaxTimeout <= 0 {
		opts.MaxTimeout = time.Minute
	}
	if opts.MaxConns <= 0 {
		opts.MaxConns = DefaultMaxConns
	}
	if opts.MaxWaits <= 0 {
		opts.MaxWaits = DefaultMaxWaits
	}
	return &Server{log: log, opts: opts, tr: tr, h: h, conns: make(map[net.Conn]struct{})}
}

// Run listens, serves until ctx ends, then closes every connection, waits
// for their goroutines and removes the socket file.
func (s *Server) Run(ctx context.Context) error {
	ln, err := s.listen()
	if err != nil {
		return err
	}
	s.log.Info("ack socket listening", zap.String("path", s.opts.Path),
		zap.Stringer("mode", s.opts.Mode))
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	err = s.acceptLoop(ctx, ln)
	ln.Close() // unlinks the socket file: we created it
	s.closeConns()
	s.wg.Wait()
	if ctx.Err() != nil {
		return nil
	}
	return err
}

func (s *Server) acceptLoop(ctx context.Context, ln *net.UnixListener) error {
	acc := acceptloop.New(s.log, ln, "ack socket") // survives EMFILE and its kin
	for {
		c, err := acc.Accept(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("accept %s: %w", s.opts.Path, err)
		}
		s.admit(ctx, c)
	}
}

// admit serves c, or refuses it when MaxConns connections are open.
func (s *Server) admit(ctx context.Context, c net.Conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.conns) >= s.opts.MaxConns {
		s.refuseLocked(c)
		return
	}
	s.conns[c] = struct{}{}
	s.nextID++
	id := s.nextID
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer s.forget(c)
		newServerConn(s, c, id).serve(ctx)
	}()
}

// refuseLocked tells a connection over the cap why it is closed: the
// PreambleBusy status, then the close. A bounded number of goroutines do
// this, each for at most refuseTimeout; beyond that the connection is
// closed at once. Either way one log line at most every refusalLogEvery.
func (s *Server) refuseLocked(c net.Conn) {
	s.refusals.note(s.log, s.opts.MaxConns)
	if s.refusing >= maxRefusing {
		c.Close()
		return
	}
	s.refusing++
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer func() { s.mu.Lock(); s.refusing--; s.mu.Unlock() }()
		defer c.Close()
		c.SetDeadline(time.Now().Add(refuseTimeout))
		// Answer first, then read the client's preamble, so it is not left
		// unread: closing with unread data could reset the connection
		// before the client reads the answer.
		if _, err := c.Write(AppendPreamble(nil, Version, PreambleBusy)); err == nil {
			io.ReadFull(c, make([]byte, PreambleLen))
		}
	}()
}

func (s *Server) forget(c net.Conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	c.Close()
}

func (s *Server) closeConns() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		c.Close()
	}
}

// listen creates the socket file. An existing file is replaced only when
// it is a socket nobody answers on (a crashed run's leftover).
func (s *Server) listen() (*net.UnixListener, error) {
	path := s.opts.Path
	if err := s.removeStale(path); err != nil {
		return nil, err
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", path, err)
	}
	if err := os.Chmod(path, s.opts.Mode); err != nil {
		ln.Close()
		return nil, fmt.Errorf("chmod socket %s: %w", path, err)
	}
	return ln, nil
}

func (s *Server) removeStale(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("stat socket %s: %w", path, err)
	}
	if fi.Mode()&os.ModeSocket == 0 {
		return fmt.Errorf("socket %s: exists and is not a socket (%s): %w", path, fi.Mode(), ErrPathInUse)
	}
	c, err := net.DialTimeout("unix", path, time.Second)
	if err == nil {
		c.Close()
		return fmt.Errorf("socket %s: a live listener answers on it: %w", path, ErrPathInUse)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("probe socket %s: %w", path, err)
	}
	s.log.Warn("replacing stale ack socket", zap.String("path", path))
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove stale socket %s: %w", path, err)
	}
	return nil
}
