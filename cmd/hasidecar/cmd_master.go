package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/hasidecar/hasidecar/sidecar"
	"github.com/hasidecar/hasidecar/sidecar/ack"
	"github.com/hasidecar/hasidecar/sidecar/config"
	"github.com/hasidecar/hasidecar/sidecar/meta"
	"github.com/hasidecar/hasidecar/sidecar/role"
	"github.com/hasidecar/hasidecar/sidecar/tlsconf"
)

type masterCmd struct {
	log      logFlags
	layout   layoutFlags
	svc      serviceFlags
	dir      string
	stateDir string
	listen   string
	batch    string
	initial  string
	cfg      config.Master // bound to the typed flags; build fills the rest

	ackSocket     string
	ackMode       string
	ackMaxConns   int
	ackMaxWaits   int
	ackPolicy     string
	fallbehindMax string

	allowSlaves string
	meta        metaFlags
}

func (c *masterCmd) flags(stderr io.Writer) *flag.FlagSet {
	fs := newFlagSet("master")
	c.log.register(fs)
	c.layout.register(fs)
	c.svc.register(fs)
	fs.StringVar(&c.dir, "dir", "", "segment directory to replicate (required; may not exist yet)")
	fs.StringVar(&c.stateDir, "state-dir", "", "master state (segment lineage), outside --dir (default: DIR.hasidecar beside it)")
	fs.StringVar(&c.listen, "listen", "0.0.0.0:10912", "HA listen address (RocketMQ's default is the broker port + 1)")
	fs.StringVar(&c.batch, "batch", "32KiB", "largest frame body (RocketMQ's haTransferBatchSize; at most 4MiB-12)")
	fs.StringVar(&c.initial, "initial", "full", "where a slave reporting 0 starts: full (oldest segment) or last-segment (RocketMQ)")
	fs.DurationVar(&c.cfg.Heartbeat, "heartbeat", 5*time.Second, "send a heartbeat frame after this long without data (reloadable)")
	fs.DurationVar(&c.cfg.Housekeeping, "housekeeping", 20*time.Second, "close a slave connection silent this long (reloadable)")
	fs.DurationVar(&c.cfg.ReportGrace, "report-grace", 3*time.Second, "wait this long for the directory to reach a slave's reported offset")
	fs.DurationVar(&c.cfg.GapLog, "gap-log", time.Minute, "log each connected slave's gap this often")
	fs.IntVar(&c.cfg.MaxSlaves, "max-slaves", 16, "refuse slave connections beyond this many (0: no limit)")
	fs.IntVar(&c.cfg.MaxMetaConns, "max-meta-conns", 16, "refuse metadata connections beyond this many, counted apart from slaves (0: no limit)")
	fs.IntVar(&c.cfg.MaxDigestConns, "max-digest-conns", 16, "refuse digest connections (verify --online, scrub) beyond this many, counted apart from slaves (0: no limit)")
	fs.StringVar(&c.allowSlaves, "allow-slaves", "", "comma-separated IPs and CIDRs allowed to connect (empty: all)")
	fs.DurationVar(&c.cfg.Tail.PollMin, "poll-min", 5*time.Millisecond, "how often the live segment's tail is looked at while the writer is active and sends no hint; a hint (WAIT or WRITTEN on --ack-socket) looks at once, and fsnotify Write events are taken at most this often")
	fs.DurationVar(&c.cfg.Tail.PollMax, "poll-max", 500*time.Millisecond, "slowest poll of the live segment's tail when idle: an idle master wakes this often, and a first record after a quiet period from a writer that neither hints (--ack-socket) nor raises fsnotify events is seen at most this late")
	fs.DurationVar(&c.cfg.Tail.Settle, "settle", 20*time.Millisecond, "ship the last record once unchanged this long (without a writer hint)")
	fs.DurationVar(&c.cfg.Tail.Rescan, "rescan", time.Second, "interval at which the live segment's path is stat'ed and rescanned; the directory is listed every interval without fsnotify, every 30 intervals with it")
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
	cfg, err := c.load(fs, args, os.Environ())
	if err != nil {
		return err
	}
	log, lvl, err := newLogger(cfg.Log, stderr)
	if err != nil {
		return err
	}
	defer log.Sync()
	m, err := role.NewMaster(log, cfg, roleOptions(&lvl))
	if err != nil {
		return exitForRole(err)
	}
	rl := &reloader{log: log.Named("reload"), fs: fs, names: config.MasterReloadable, rebuild: func() (*flag.FlagSet, func() error, error) {
		var fresh masterCmd
		ffs := fresh.flags(io.Discard)
		next, err := fresh.load(ffs, args, os.Environ())
		return ffs, func() error { return m.Reload(next) }, err
	}}
	// The watchdog does not follow Healthy: a restart would forget the
	// divergence the master must keep refusing slaves for.
	return exitForRole(role.RunAll(ctx, m.Run, notifyLifecycle(log.Named("systemd"), nil), rl.listen().run))
}

// load parses args, layers environ and the config file under them, and
// returns the whole configuration, validated. It is the one way to a
// master's configuration: the master, `run`, `config check` and SIGHUP
// all take it, and it touches nothing.
func (c *masterCmd) load(fs *flag.FlagSet, args, environ []string) (config.Master, error) {
	l, err := loadFlags(fs, args, environ)
	if err != nil {
		return config.Master{}, err
	}
	cfg, err := c.build(l)
	if err == nil {
		err = cfg.Validate()
	}
	return cfg, l.blame(err)
}

// build turns the text flags into the typed configuration.
func (c *masterCmd) build(l *loaded) (config.Master, error) {
	var p fieldErrs
	cfg := c.cfg
	cfg.Log, cfg.Layout, cfg.Service = c.log.config(), c.layout.build(&p, l.given("segment-size")), c.svc.typed()
	cfg.Meta = c.meta.build(&p)
	cfg.Dir, cfg.Listen, cfg.StateDir = c.dir, c.listen, c.stateDir
	if cfg.StateDir == "" && cfg.Dir != "" {
		cfg.StateDir, cfg.StateDirDefaulted = filepath.Clean(cfg.Dir)+".hasidecar", true
	}
	cfg.Batch = p.size("batch", c.batch)
	var err error
	if cfg.Initial, err = sidecar.ParseInitial(c.initial); err != nil {
		p.add("initial", c.initial, errors.New("want full or last-segment"))
	}
	if cfg.AckPolicy, err = ack.ParsePolicy(c.ackPolicy); err != nil {
		p.add("ack-policy", c.ackPolicy, errors.New("want any, all or quorum=N"))
	}
	cfg.FallbehindMax = p.size("fallbehind-max", c.fallbehindMax)
	cfg.AckSocket, cfg.AckSocketMode = c.ackSocket, p.octal("ack-socket-mode", c.ackMode)
	cfg.AckMaxConns, cfg.AckMaxWaits = c.ackMaxConns, c.ackMaxWaits
	cfg.AllowSlavesText, cfg.AllowSlaves = c.allowSlaves, config.SplitList(c.allowSlaves)
	if _, err := tlsconf.ParseAllowList(c.allowSlaves); err != nil {
		p.add("allow-slaves", c.allowSlaves, err)
	}
	return cfg, errors.Join(p...)
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

func (m *metaFlags) build(p *fieldErrs) config.Meta {
	cfg := config.Meta{Dir: m.dir, Include: config.SplitList(m.include), MaxFileSize: p.size("meta-max-size", m.maxSize)}
	if err := meta.CheckPatterns(cfg.Include); err != nil {
		p.add("meta-include", m.include, err)
	}
	return cfg
}
