package meta

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"time"

	"go.uber.org/zap"
)

// ioTimeout bounds each request/response exchange of a sync round.
const ioTimeout = 30 * time.Second

// ClientOptions configures a Client. Zero values take the defaults.
type ClientOptions struct {
	Dir         string        // the slave's copy of the master's directory; created if missing
	Interval    time.Duration // between syncs; default 60s
	FirstDelay  time.Duration // before the first sync; default 1s
	Delete      bool          // remove local files that vanished from the master's listing
	MaxFileSize int64         // bytes; default 16 MiB
	Include     []string      // glob patterns on base names; default {"*.json"}
	// Dial connects to the master's HA port (required). The client sends
	// MetaMagic itself, right after Dial returns.
	Dial func(ctx context.Context) (net.Conn, error)
}

// Result is what one sync round did, by file name.
type Result struct {
	Updated   []string
	Unchanged []string
	Deleted   []string
	Failed    map[string]string // name -> reason
}

// Client keeps a local directory in step with a master's meta Server.
type Client struct {
	log  *zap.Logger
	opts ClientOptions
	inc  matcher
	mu   sync.Mutex // one round at a time: a round owns the temp files
}

// NewClient builds a Client.
func NewClient(log *zap.Logger, opts ClientOptions) *Client {
	if log == nil {
		log = zap.NewNop()
	}
	if opts.Interval <= 0 {
		opts.Interval = 60 * time.Second
	}
	if opts.FirstDelay <= 0 {
		opts.FirstDelay = time.Second
	}
	if opts.MaxFileSize <= 0 {
		opts.MaxFileSize = DefaultMaxFileSize
	}
	if err := CheckPatterns(opts.Include); err != nil {
		log.Error("meta client include pattern", zap.Error(err))
	}
	return &Client{log: log, opts: opts, inc: newMatcher(opts.Include)}
}

// Run syncs after FirstDelay, then every Interval, until ctx ends; it then
// returns nil. A failed round is logged and retried at the next interval.
func (c *Client) Run(ctx context.Context) error {
	if c.opts.Dial == nil {
		return errors.New("meta client: no dial function")
	}
	t := time.NewTimer(c.opts.FirstDelay)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		res, err := c.SyncNow(ctx)
		if err != nil && ctx.Err() == nil {
			c.log.Warn("meta sync failed", zap.String("path", c.opts.Dir), zap.Error(err))
		} else if err == nil {
			c.log.Debug("meta sync", zap.Int("updated", len(res.Updated)), zap.Int("unchanged", len(res.Unchanged)),
				zap.Int("deleted", len(res.Deleted)), zap.Int("failed", len(res.Failed)))
		}
		t.Reset(c.opts.Interval)
	}
}

// SyncNow runs one round: list the master's files, fetch those whose
// content differs, replace them atomically, and remove vanished ones if
// Delete is set. Per-file problems are logged and land in Result.Failed; the
// error is for the round as a whole (dial, protocol, local directory).
func (c *Client) SyncNow(ctx context.Context) (Result, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	res := Result{Failed: map[string]string{}}
	if c.opts.Dial == nil {
		return res, errors.New("meta sync: no dial function")
	}
	if err := os.MkdirAll(c.opts.Dir, 0o755); err != nil {
		return res, fmt.Errorf("meta sync: %w", err)
	}
	conn, err := c.opts.Dial(ctx)
	if err != nil {
		return res, fmt.Errorf("meta sync: dial: %w", err)
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	s := &session{c: c, conn: conn, br: bufio.NewReader(conn), res: &res}
	err = s.run(ctx)
	if ctx.Err() != nil {
		err = ctx.Err()
	}
	if err != nil {
		return res, fmt.Errorf("meta sync: %w", err)
	}
	return res, nil
}

// session is one round over one connection.
type session struct {
	c    *Client
	conn net.Conn
	br   *bufio.Reader
	res  *Result
}

func (s *session) run(ctx context.Context) error {
	entries, err := s.list()
	if err != nil {
		return err
	}
	s.c.removeStaleTemps()
	seen := make(map[string]bool, len(entries))
	for _, e := range entries {
		if !s.c.inc.match(e.Name) {
			continue // the master lists more than this slave mirrors
		}
		seen[e.Name] = true
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err := s.follow(e); err != nil {
			return err
		}
	}
	return s.c.deleteVanished(seen, s.res)
}

// list sends the magic and LIST and reads the manifest.
func (s *session) list() ([]Entry, error) {
	_ = s.conn.SetDeadline(time.Now().Add(ioTimeout))
	var magic [8]byte
	m := MetaMagic
	binary.BigEndian.PutUint64(magic[:], uint64(m))
	if _, err := s.conn.Write(magic[:]); err != nil {
		return nil, fmt.Errorf("send magic: %w", err)
	}
	if err := writeFrame(s.conn, typeList, nil); err != nil {
		return nil, fmt.Errorf("send list: %w", err)
	}
	p, err := s.response(typeManifest, MaxManifest)
	if err != nil {
		return nil, fmt.Errorf("list: %w", err)
	}
	return DecodeManifest(p)
}

// response reads one frame of the wanted type; ERROR becomes ErrServer.
func (s *session) response(want uint8, max int) ([]byte, error) {
	typ, p, err := readFrame(s.br, max)
	if err != nil {
		return nil, noEOF(err)
	}
	switch typ {
	case want:
		return p, nil
	case typeError:
		return nil, fmt.Errorf("%q: %w", clip(string(p), maxError), ErrServer)
	}
	return nil, fmt.Errorf("response type %#x, want %#x: %w", typ, want, ErrProtocol)
}

// fail records one file's problem: one log line, one Result.Failed entry.
func (s *session) fail(name string, err error) {
	s.c.log.Warn("meta file not mirrored", zap.String("file", name), zap.Error(err))
	s.res.Failed[name] = err.Error()
}
