package main

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/hasidecar/hasidecar/plugins"
	"github.com/hasidecar/hasidecar/sidecar"
	"github.com/hasidecar/hasidecar/sidecar/ack"
	"github.com/hasidecar/hasidecar/sidecar/meta"
	"github.com/hasidecar/hasidecar/sidecar/metrics"
	"github.com/hasidecar/hasidecar/sidecar/tlsconf"
	"github.com/hasidecar/hasidecar/tailer"
)

type masterCmd struct {
	log     logFlags
	layout  layoutFlags
	svc     serviceFlags
	dir     string
	listen  string
	batch   string
	initial string
	cfg     sidecar.MasterConfig
	tail    tailer.Options

	ackSocket     string
	ackMode       string
	ackMaxConns   int
	ackMaxWaits   int
	ackPolicy     string
	fallbehindMax string
	policy        ack.Policy  // parsed --ack-policy
	fallbehind    int64       // parsed --fallbehind-max
	sockMode      os.FileMode // parsed --ack-socket-mode

	allowSlaves string
	meta        metaFlags
}

// masterReloadable are the flags a SIGHUP re-reads.
var masterReloadable = []string{"log-level", "ack-policy", "fallbehind-max", "heartbeat", "housekeeping"}

func (c *masterCmd) flags(stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("master", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c.log.register(fs)
	c.layout.register(fs)
	c.svc.register(fs)
	fs.StringVar(&c.dir, "dir", "", "segment directory to replicate (required; may not exist yet)")
	fs.StringVar(&c.listen, "listen", "0.0.0.0:10912", "HA listen address (RocketMQ's default is the broker port + 1)")
	fs.StringVar(&c.batch, "batch", "32KiB", "largest frame body (RocketMQ's haTransferBatchSize; at most 4MiB-12)")
	fs.StringVar(&c.initial, "initial", "full", "where a slave reporting 0 starts: full (oldest segment) or last-segment (RocketMQ)")
	fs.DurationVar(&c.cfg.Heartbeat, "heartbeat", 5*time.Second, "send a heartbeat frame after this long without data (reloadable)")
	fs.DurationVar(&c.cfg.Housekeeping, "housekeeping", 20*time.Second, "close a slave connection silent this long (reloadable)")
	fs.DurationVar(&c.cfg.ReportGrace, "report-grace", 3*time.Second, "wait this long for the directory to reach a slave's reported offset")
	fs.DurationVar(&c.cfg.GapLog, "gap-log", time.Minute, "log each connected slave's gap this often")
	fs.IntVar(&c.cfg.MaxSlaves, "max-slaves", 16, "refuse slave connections beyond this many (0: no limit)")
	fs.IntVar(&c.cfg.MaxMetaConns, "max-meta-conns", 16, "refuse metadata connections beyond this many, counted apart from slaves (0: no limit)")
	fs.StringVar(&c.allowSlaves, "allow-slaves", "", "comma-separated IPs and CIDRs allowed to connect (empty: all)")
	fs.DurationVar(&c.tail.PollMin, "poll-min", time.Millisecond, "fastest poll of the live segment's tail")
	fs.DurationVar(&c.tail.PollMax, "poll-max", 50*time.Millisecond, "slowest poll of the live segment's tail when idle")
	fs.DurationVar(&c.tail.Settle, "settle", 20*time.Millisecond, "ship the last record once unchanged this long (without a writer hint)")
	fs.DurationVar(&c.tail.Rescan, "rescan", time.Second, "full directory listing interval under fsnotify")
	fs.StringVar(&c.ackSocket, "ack-socket", "", "Unix socket path for synchronous-commit waits (off when empty)")
	fs.StringVar(&c.ackMode, "ack-socket-mode", "0660", "file mode of the ack socket")
	fs.IntVar(&c.ackMaxConns, "ack-max-conns", ack.DefaultMaxConns, "refuse ack-socket connections beyond this many (preamble status busy)")
	fs.IntVar(&c.ackMaxWaits, "ack-max-waits", ack.DefaultMaxWaits, "answer ERROR 4 to WAITs beyond this many outstanding on all ack-socket connections")
	fs.StringVar(&c.ackPolicy, "ack-policy", "any", "which slaves must acknowledge: any, all or quorum=N (reloadable)")
	fs.StringVar(&c.fallbehindMax, "fallbehind-max", "256MiB", "answer NOT_AVAILABLE when the slaves are further behind than this (reloadable)")
	c.meta.register(fs, "broker metadata directory (store/config) to mirror to slaves (off when empty)")
	return fs
}

func runMaster(ctx context.Context, args []string, _, stderr io.Writer) error {
	var c masterCmd
	fs := c.flags(stderr)
	if err := parseService(fs, args); err != nil {
		return err
	}
	if c.dir == "" {
		return usageError{fmt.Errorf("master: --dir is required")}
	}
	log, lvl, err := c.log.build(stderr)
	if err != nil {
		return err
	}
	defer log.Sync()
	if err := c.parse(); err != nil {
		return err
	}
	lay, closeLayout, err := c.layout.open(log)
	if err != nil {
		return err
	}
	defer closeLayout()
	return c.serve(ctx, log, lvl, fs, lay)
}

func (c *masterCmd) parse() error {
	batch, err := plugins.ParseSize(c.batch)
	if err != nil {
		return usageError{fmt.Errorf("--batch: %w", err)}
	}
	c.cfg.Batch = int(min(batch, 1<<30))
	if c.cfg.Initial, err = sidecar.ParseInitial(c.initial); err != nil {
		return usageError{err}
	}
	if c.policy, err = ack.ParsePolicy(c.ackPolicy); err != nil {
		return usageError{fmt.Errorf("--ack-policy: %w", err)}
	}
	if c.fallbehind, err = plugins.ParseSize(c.fallbehindMax); err != nil {
		return usageError{fmt.Errorf("--fallbehind-max: %w", err)}
	}
	mode, err := strconv.ParseUint(c.ackMode, 8, 32)
	if err != nil {
		return usageError{fmt.Errorf("--ack-socket-mode %q: want an octal mode", c.ackMode)}
	}
	c.sockMode = os.FileMode(mode)
	if c.ackMaxConns < 1 || c.ackMaxWaits < 1 {
		return usageError{fmt.Errorf("--ack-max-conns %d, --ack-max-waits %d: both must be >= 1", c.ackMaxConns, c.ackMaxWaits)}
	}
	return nil
}

// masterParts is what serve assembles.
type masterParts struct {
	tracker *ack.Tracker
	tail    *tailer.Tailer
	m       *sidecar.Master
	sync    *metrics.SyncMetrics
}

func (c *masterCmd) serve(ctx context.Context, log *zap.Logger, lvl zap.AtomicLevel, fs *flag.FlagSet, lay plugins.Layout) error {
	var err error
	if c.cfg.Meta, err = c.metaServer(log); err != nil {
		return err
	}
	p := masterParts{tracker: ack.NewTracker(log.Named("ack"), c.policy, c.fallbehind), sync: metrics.NewSyncMetrics()}
	p.tail = tailer.New(log.Named("tailer"), c.dir, lay, c.tail)
	p.m = sidecar.NewMaster(log.Named("master"), c.cfg, lay, p.tail, p.tracker)
	ln, err := c.listener(log)
	if err != nil {
		return err
	}
	fns, err := c.services(log, lvl, fs, p, ln)
	if err != nil {
		ln.Close()
		return err
	}
	log.Info("master serving", zap.String("dir", c.dir), zap.String("listen", ln.Addr().String()),
		zap.String("layout", lay.Info().String()), zap.String("ack_policy", c.policy.String()))
	err = runAll(ctx, fns...)
	log.Info("master stopped", zap.Error(err))
	return err
}

// services lists the goroutines of a running master.
func (c *masterCmd) services(log *zap.Logger, lvl zap.AtomicLevel, fs *flag.FlagSet, p masterParts, ln net.Listener) ([]func(context.Context) error, error) {
	healthy := p.m.Healthy // /healthz fails while the master's data diverged
	fns := []func(context.Context) error{p.tail.Run, func(ctx context.Context) error { return p.m.Serve(ctx, ln) }}
	if c.ackSocket != "" {
		srv := ack.NewServer(log.Named("ack_socket"), ack.ServerOptions{Path: c.ackSocket, Mode: c.sockMode,
			MaxConns: c.ackMaxConns, MaxWaits: c.ackMaxWaits,
			Observe: func(s ack.Status, d time.Duration) { p.sync.Observe(s.String(), d) }}, p.tracker, p.tail)
		fns = append(fns, srv.Run)
	}
	coll := metrics.NewMasterCollector(p.m.Stats)
	mrun, err := c.svc.metricsRun(log.Named("metrics"), healthy, coll, p.sync)
	if err != nil {
		return nil, err
	}
	if mrun != nil {
		fns = append(fns, mrun, coll.Run)
	}
	rl := &reloader{log: log.Named("reload"), fs: fs, names: masterReloadable, apply: c.applyReload(lvl, p)}
	// The watchdog does not follow Healthy: a restart would forget the
	// divergence the master must keep refusing slaves for.
	return append(fns, notifyLifecycle(log.Named("systemd"), nil), rl.run), nil
}

// applyReload applies one reloadable flag's new value.
func (c *masterCmd) applyReload(lvl zap.AtomicLevel, p masterParts) func(name, value string) error {
	return func(name, value string) error {
		switch name {
		case "log-level":
			return lvl.UnmarshalText([]byte(value))
		case "ack-policy":
			pol, err := ack.ParsePolicy(value)
			if err == nil {
				p.tracker.SetPolicy(pol)
			}
			return err
		case "fallbehind-max":
			n, err := plugins.ParseSize(value)
			if err == nil {
				p.tracker.SetFallbehindMax(n)
			}
			return err
		case "heartbeat", "housekeeping":
			d, err := time.ParseDuration(value)
			if err == nil && name == "heartbeat" {
				p.m.SetTimeouts(d, 0)
			} else if err == nil {
				p.m.SetTimeouts(0, d)
			}
			return err
		}
		return fmt.Errorf("%s is not reloadable", name)
	}
}

// listener opens the HA port with the allow-list and TLS, if configured.
func (c *masterCmd) listener(log *zap.Logger) (net.Listener, error) {
	allow, err := tlsconf.ParseAllowList(c.allowSlaves)
	if err != nil {
		return nil, usageError{fmt.Errorf("--allow-slaves: %w", err)}
	}
	tc, err := c.svc.serverTLS()
	if err != nil {
		return nil, fmt.Errorf("master TLS: %w", err)
	}
	ln, err := net.Listen("tcp", c.listen)
	if err != nil {
		return nil, fmt.Errorf("listen for slaves: %w", err)
	}
	ln = tlsconf.AllowListener(log.Named("allow"), ln, allow, nil)
	if tc != nil {
		log.Info("mutual TLS on the HA port: RocketMQ slaves cannot connect")
		ln = tls.NewListener(ln, tc)
	}
	return ln, nil
}

// metaServer builds the metadata mirror's server, or nil when off.
func (c *masterCmd) metaServer(log *zap.Logger) (sidecar.MetaServer, error) {
	if c.meta.dir == "" {
		return nil, nil
	}
	include, size, err := c.meta.parse()
	if err != nil {
		return nil, err
	}
	// A metadata connection idle for the housekeeping interval is closed, as
	// a silent slave is, so that it gives its slot back.
	return meta.NewServer(log.Named("meta"), meta.ServerOptions{Dir: c.meta.dir, Include: include, MaxFileSize: size,
		IdleTimeout: c.cfg.Housekeeping}), nil
}

// metaFlags are the metadata mirror's flags, alike on master and slave.
type metaFlags struct {
	dir     string
	include string
	maxSize string
}

func (m *metaFlags) register(fs *flag.FlagSet, dirUsage string) {
	fs.StringVar(&m.dir, "meta-dir", "", dirUsage)
	fs.StringVar(&m.include, "meta-include", "*.json", "comma-separated glob patterns of metadata files to mirror")
	fs.StringVar(&m.maxSize, "meta-max-size", "16MiB", "largest metadata file mirrored")
}

func (m *metaFlags) parse() ([]string, int64, error) {
	include := splitList(m.include)
	if err := meta.CheckPatterns(include); err != nil {
		return nil, 0, usageError{fmt.Errorf("--meta-include: %w", err)}
	}
	size, err := plugins.ParseSize(m.maxSize)
	if err != nil {
		return nil, 0, usageError{fmt.Errorf("--meta-max-size: %w", err)}
	}
	return include, size, nil
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
