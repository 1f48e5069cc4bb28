package meta

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"time"

	"go.uber.org/zap"
)

// defaultIdleTimeout is ServerOptions.IdleTimeout's default.
const defaultIdleTimeout = 30 * time.Second

// ServerOptions configures a Server. Zero values take the defaults.
type ServerOptions struct {
	Dir         string   // the directory whose files are mirrored
	Include     []string // glob patterns on base names; default {"*.json"}
	MaxFileSize int64    // bytes; default 16 MiB
	// Validate checks a file's content before it is served; a file that
	// fails is retried like one that changed while read, then reported
	// unstable. Default ValidateJSON; func(string, []byte) error { return
	// nil } turns it off.
	Validate func(name string, data []byte) error
	// IdleTimeout closes a connection that sends no request this long, and
	// bounds each response write; default 30s. Each connection holds one of
	// the master's metadata slots until it ends.
	IdleTimeout time.Duration
}

// Server answers meta connections on the master. It holds no goroutine of
// its own: each ServeConn runs on its caller's goroutine.
type Server struct {
	log  *zap.Logger
	dir  string
	inc  matcher
	max  int64
	val  func(name string, data []byte) error
	idle time.Duration
}

// NewServer builds a Server. A malformed Include pattern matches nothing
// and is logged; CheckPatterns reports it up front.
func NewServer(log *zap.Logger, opts ServerOptions) *Server {
	if log == nil {
		log = zap.NewNop()
	}
	if err := CheckPatterns(opts.Include); err != nil {
		log.Error("meta server include pattern", zap.Error(err))
	}
	if opts.MaxFileSize <= 0 {
		opts.MaxFileSize = DefaultMaxFileSize
	}
	if opts.Validate == nil {
		opts.Validate = ValidateJSON
	}
	if opts.IdleTimeout <= 0 {
		opts.IdleTimeout = defaultIdleTimeout
	}
	return &Server{log: log, dir: opts.Dir, inc: newMatcher(opts.Include), max: opts.MaxFileSize, val: opts.Validate,
		idle: opts.IdleTimeout}
}

// ServeConn serves one connection whose magic was already read, until the
// client closes it, it idles, it misbehaves or ctx ends. It closes conn.
func (s *Server) ServeConn(ctx context.Context, conn net.Conn) {
	defer conn.Close()
	// Closing unblocks any read or write at once when ctx ends (a past
	// deadline would race with the loop setting the next one).
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()
	log := s.log.With(zap.String("remote_addr", conn.RemoteAddr().String()))
	br := bufio.NewReader(conn)
	for {
		_ = conn.SetReadDeadline(time.Now().Add(s.idle))
		typ, p, err := readFrame(br, maxRequest)
		if err == nil {
			err = s.answer(ctx, conn, typ, p)
		}
		if err != nil {
			s.closing(ctx, log, conn, err)
			return
		}
	}
}

// closing logs why a connection ends, and tells a client that broke the
// protocol what it did wrong.
func (s *Server) closing(ctx context.Context, log *zap.Logger, conn net.Conn, err error) {
	switch {
	case errors.Is(err, io.EOF), ctx.Err() != nil:
		return // the client is done, or so are we
	case errors.Is(err, ErrProtocol), errors.Is(err, ErrBadName):
		_ = conn.SetWriteDeadline(time.Now().Add(time.Second))
		_ = writeFrame(conn, typeError, []byte(clip(err.Error(), maxError)))
	}
	log.Warn("meta connection closed", zap.Error(err))
}

// answer handles one request.
func (s *Server) answer(ctx context.Context, conn net.Conn, typ uint8, p []byte) error {
	req, err := DecodeRequest(typ, p)
	if err != nil {
		return err
	}
	var rtyp uint8
	var payload []byte
	if req.Get {
		rtyp, payload = typeContent, EncodeContent(s.get(ctx, req.Name, min(s.max, req.Limit)))
	} else if entries, err := s.list(ctx); err != nil {
		s.log.Warn("meta list", zap.String("path", s.dir), zap.Error(err))
		rtyp, payload = typeError, []byte(clip(err.Error(), maxError))
	} else {
		rtyp, payload = typeManifest, EncodeManifest(entries)
	}
	_ = conn.SetWriteDeadline(time.Now().Add(s.idle))
	if err := writeFrame(conn, rtyp, payload); err != nil {
		return fmt.Errorf("write response: %w", err)
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return nil
}

// list builds the manifest of Dir.
func (s *Server) list(ctx context.Context) ([]Entry, error) {
	root, err := os.OpenRoot(s.dir)
	if err != nil {
		return nil, fmt.Errorf("open dir %s: %w", s.dir, err)
	}
	defer root.Close()
	names, err := s.names(root)
	if err != nil {
		return nil, err
	}
	rs, errs := reader{root: root, limit: s.max, validate: s.val}.readMany(ctx, names, false)
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	entries := make([]Entry, len(names))
	for i, name := range names {
		entries[i] = s.entry(name, rs[i], errs[i])
	}
	return entries, nil
}

// names lists the included names of the directory, sorted.
func (s *Server) names(root *os.Root) ([]string, error) {
	d, err := root.Open(".")
	if err != nil {
		return nil, fmt.Errorf("open dir %s: %w", s.dir, err)
	}
	defer d.Close()
	all, err := d.Readdirnames(-1)
	if err != nil {
		return nil, fmt.Errorf("read dir %s: %w", s.dir, err)
	}
	names := slices.DeleteFunc(all, func(n string) bool { return !s.inc.match(n) })
	if len(names) > MaxEntries {
		return nil, fmt.Errorf("list dir %s: %d files over %d", s.dir, len(names), MaxEntries)
	}
	slices.Sort(names)
	return names, nil
}

// entry describes one file's read for the manifest.
func (s *Server) entry(name string, r fileRead, err error) Entry {
	if err != nil {
		s.log.Debug("meta file listed without content", zap.String("file", name), zap.Error(err))
		return Entry{Name: name, Status: statusOf(err), Reason: err.Error()}
	}
	return Entry{Name: name, Size: r.snap.size, MtimeNs: r.snap.mtimeNs, Sum: r.sum}
}

// get reads one file for a GET, up to limit bytes.
func (s *Server) get(ctx context.Context, name string, limit int64) Content {
	if !s.inc.match(name) {
		return Content{Name: name, Status: StatusBadName, Reason: "name not included"}
	}
	root, err := os.OpenRoot(s.dir)
	if err != nil {
		return Content{Name: name, Status: StatusUnreadable, Reason: err.Error()}
	}
	defer root.Close()
	r, err := reader{root: root, limit: limit, validate: s.val}.readStable(ctx, name)
	if err != nil {
		s.log.Debug("meta file not served", zap.String("file", name), zap.Error(err))
		return Content{Name: name, Status: statusOf(err), Reason: err.Error()}
	}
	return Content{Name: name, MtimeNs: r.snap.mtimeNs, Sum: r.sum, Data: r.data}
}
