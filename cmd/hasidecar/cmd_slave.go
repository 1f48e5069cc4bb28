package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/hasidecar/hasidecar/applier"
	"github.com/hasidecar/hasidecar/plugins/bytesize"
	"github.com/hasidecar/hasidecar/sidecar"
	"github.com/hasidecar/hasidecar/sidecar/config"
	"github.com/hasidecar/hasidecar/sidecar/role"
)

type slaveCmd struct {
	log      logFlags
	layout   layoutFlags
	svc      serviceFlags
	dir      string
	stateDir string
	fsync    string
	ackAfter string
	reseed   bool
	scrub    string
	cfg      config.Slave // bound to the typed flags; build fills the rest

	meta metaFlags
}

func (c *slaveCmd) flags(stderr io.Writer) *flag.FlagSet {
	fs := newFlagSet("slave")
	c.log.register(fs)
	c.layout.register(fs)
	c.svc.register(fs)
	fs.StringVar(&c.dir, "dir", "", "segment directory to write (required; created if missing)")
	fs.StringVar(&c.stateDir, "state-dir", "", "sidecar state (checkpoint), outside --dir (default: DIR.hasidecar beside it)")
	fs.StringVar(&c.cfg.Master, "master", "", "master sidecar or broker HA address host:port (required)")
	fs.StringVar(&c.cfg.Name, "name", "", "this slave's name in the master's status and metrics (default: the host name)")
	fs.BoolVar(&c.cfg.Classic, "classic", false, "speak only the classic protocol (the master is a RocketMQ broker): no layout or divergence check")
	fs.StringVar(&c.fsync, "fsync", "100ms", "fsync policy: every (each frame), none, or an interval such as 100ms")
	fs.StringVar(&c.ackAfter, "ack-after", "write", "acknowledge bytes once written (write) or once fsynced (fsync)")
	fs.DurationVar(&c.cfg.Heartbeat, "heartbeat", 5*time.Second, "report the offset at least this often")
	fs.DurationVar(&c.cfg.Housekeeping, "housekeeping", 20*time.Second, "drop a connection silent this long")
	fs.DurationVar(&c.cfg.MaxBackoff, "max-backoff", 5*time.Second, "longest wait between reconnects")
	fs.BoolVar(&c.cfg.StopOnRefusal, "exit-on-refusal", false, "exit (status 78) when the master refuses this slave for good, instead of retrying every --max-backoff")
	fs.BoolVar(&c.cfg.Reseed, "reseed", false, "move the directory's segments and checkpoint aside (into --state-dir) and copy afresh from the master")
	fs.StringVar(&c.cfg.TLSServerName, "tls-server-name", "", "name to verify in the master's certificate (default: the host of --master)")
	c.meta.register(fs, "where to mirror the master's metadata files (off when empty)")
	fs.DurationVar(&c.cfg.MetaInterval, "meta-interval", time.Minute, "how often to mirror the metadata (the first run comes soon after start)")
	fs.BoolVar(&c.cfg.MetaDelete, "meta-delete", false, "remove local metadata files that were removed on the master")
	fs.BoolVar(&c.cfg.TruncateDiverged, "truncate-diverged", false,
		"when the master finds this replica diverged, cut it back to the last record both agree on (the cut bytes kept under --state-dir) and resume, instead of refusing")
	fs.StringVar(&c.scrub, "scrub-rate", bytesize.Format(config.DefaultScrubRate),
		"bytes per second the continuous scrub re-reads of the replica and compares with its lineage and the master's (0: off)")
	return fs
}

func runSlave(ctx context.Context, args []string, _, stderr io.Writer) error {
	var c slaveCmd
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
	s, err := role.NewSlave(log, cfg, roleOptions(&lvl))
	if err != nil {
		return exitForRole(err)
	}
	rl := &reloader{log: log.Named("reload"), fs: fs, names: config.SlaveReloadable, rebuild: func() (*flag.FlagSet, func() error, error) {
		var fresh slaveCmd
		ffs := fresh.flags(io.Discard)
		next, err := fresh.load(ffs, args, os.Environ())
		return ffs, func() error { return s.Reload(next) }, err
	}}
	if cfg.Meta.Dir != "" {
		rl.after = func(ctx context.Context) { syncMetaNow(ctx, log, s) }
	}
	return exitForRole(role.RunAll(ctx, s.Run, notifyLifecycle(log.Named("systemd"), s.Healthy), rl.listen().run))
}

// syncMetaNow mirrors the metadata at once: SIGHUP on a slave asks for it.
func syncMetaNow(ctx context.Context, log *zap.Logger, s *role.Slave) {
	res, err := s.SyncMeta(ctx)
	if err != nil {
		log.Error("metadata sync on SIGHUP", zap.Error(err))
		return
	}
	log.Info("metadata synced on SIGHUP", zap.Int("updated", len(res.Updated)), zap.Int("unchanged", len(res.Unchanged)),
		zap.Int("deleted", len(res.Deleted)), zap.Int("failed", len(res.Failed)))
}

// load parses args, layers environ and the config file under them, and
// returns the whole configuration, validated, touching nothing; see
// masterCmd.load.
func (c *slaveCmd) load(fs *flag.FlagSet, args, environ []string) (config.Slave, error) {
	l, err := loadFlags(fs, args, environ)
	if err != nil {
		return config.Slave{}, err
	}
	cfg, err := c.build(l)
	if err == nil {
		err = cfg.Validate()
	}
	return cfg, l.blame(err)
}

// build turns the text flags into the typed configuration.
func (c *slaveCmd) build(l *loaded) (config.Slave, error) {
	var p fieldErrs
	cfg := c.cfg
	cfg.Log, cfg.Layout, cfg.Service = c.log.config(), c.layout.build(&p, l.given("segment-size")), c.svc.typed()
	cfg.Meta = c.meta.build(&p)
	cfg.Dir, cfg.StateDir = c.dir, c.stateDir
	if cfg.StateDir == "" && cfg.Dir != "" {
		cfg.StateDir = filepath.Clean(cfg.Dir) + ".hasidecar"
	}
	if r := strings.TrimSuffix(c.scrub, "/s"); r != "0" { // 0 turns the scrub off; a size is positive
		cfg.ScrubRate = p.size("scrub-rate", r)
	}
	var err error
	if cfg.Sync, cfg.SyncInterval, err = applier.ParseSync(c.fsync); err != nil {
		p.add("fsync", c.fsync, errors.New("want every, none or an interval such as 100ms"))
	}
	if cfg.AckAfter, err = sidecar.ParseAckAfter(c.ackAfter); err != nil {
		p.add("ack-after", c.ackAfter, errors.New("want write or fsync"))
	}
	return cfg, errors.Join(p...)
}
