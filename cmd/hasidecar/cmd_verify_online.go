package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"time"

	"github.com/hasidecar/hasidecar/plugins/bytesize"
	"github.com/hasidecar/hasidecar/sidecar/onlineverify"
	"github.com/hasidecar/hasidecar/sidecar/tlsconf"
)

// onlineFlags are `verify --online`'s: the master to ask, the slave
// directory to read, and the replication link's TLS.
type onlineFlags struct {
	on          bool
	master      string
	dir         string
	stateDir    string
	rate        string
	repair      bool
	dialTimeout time.Duration
	tlsCert     string
	tlsKey      string
	tlsCA       string
	tlsName     string
}

func (o *onlineFlags) register(fs *flag.FlagSet) {
	fs.BoolVar(&o.on, "online", false, "compare --dir with a running master's digests over its replication port, instead of two directories")
	fs.StringVar(&o.master, "master", "", "online: the master sidecar's replication address host:port")
	fs.StringVar(&o.dir, "dir", "", "online: the slave's segment directory to verify")
	fs.StringVar(&o.stateDir, "state-dir", "", "online: the slave's state directory: its checkpoint gives the end to verify up to, and --repair logs there (default: DIR.hasidecar beside it)")
	fs.StringVar(&o.rate, "rate", "64MiB", "online: read --dir at most this many bytes per second (0: unlimited)")
	fs.BoolVar(&o.repair, "repair", false, "online: fetch each differing whole block from the master, write and fsync it, log it in STATE_DIR/repairs.log, and verify it again")
	fs.DurationVar(&o.dialTimeout, "dial-timeout", 10*time.Second, "online: give up connecting to the master after this long")
	fs.StringVar(&o.tlsCert, "tls-cert", "", "online: PEM certificate for mutual TLS with the master sidecar (off when empty)")
	fs.StringVar(&o.tlsKey, "tls-key", "", "online: PEM private key for --tls-cert")
	fs.StringVar(&o.tlsCA, "tls-ca", "", "online: PEM CA bundle that signs the master's certificate")
	fs.StringVar(&o.tlsName, "tls-server-name", "", "online: name to verify in the master's certificate (default: the host of --master)")
}

// onlineOnly are the flags that mean nothing without --online.
var onlineOnly = []string{"master", "dir", "state-dir", "rate", "repair", "dial-timeout", "tls-cert", "tls-key", "tls-ca", "tls-server-name"}

// check validates the online flags; given says which flags were set.
func (o *onlineFlags) check(given map[string]bool, nargs int) (int64, error) {
	if !o.on {
		for _, n := range onlineOnly {
			if given[n] {
				return 0, fmt.Errorf("--%s needs --online", n)
			}
		}
		return 0, nil
	}
	switch {
	case nargs != 0:
		return 0, errors.New("--online takes --dir, not directory arguments")
	case o.master == "" || o.dir == "":
		return 0, errors.New("--online needs --master HOST:PORT and --dir DIR")
	case (o.tlsCert == "") != (o.tlsKey == "") || (o.tlsCert == "") != (o.tlsCA == ""):
		return 0, errors.New("--tls-cert, --tls-key and --tls-ca go together")
	}
	if _, _, err := net.SplitHostPort(o.master); err != nil {
		return 0, fmt.Errorf("--master %q: %w", o.master, err)
	}
	if o.stateDir == "" {
		o.stateDir = filepath.Clean(o.dir) + ".hasidecar"
	}
	if o.rate == "0" {
		return 0, nil
	}
	rate, err := bytesize.Parse(o.rate)
	if err != nil {
		return 0, fmt.Errorf("--rate %q: want a size per second such as 64MiB, or 0", o.rate)
	}
	return rate, nil
}

// dialer connects to the master as the slave does: TCP, then TLS when the
// TLS flags are given (the master's allow-list applies to this address).
func (o *onlineFlags) dialer() (func(context.Context) (net.Conn, error), error) {
	var cfg *tls.Config
	if o.tlsCert != "" {
		name := o.tlsName
		if name == "" {
			name, _, _ = net.SplitHostPort(o.master)
		}
		var err error
		if cfg, err = tlsconf.ClientConfig(o.tlsCert, o.tlsKey, o.tlsCA, name); err != nil {
			return nil, err
		}
	}
	return func(ctx context.Context) (net.Conn, error) {
		d := net.Dialer{Timeout: o.dialTimeout, KeepAlive: 30 * time.Second}
		conn, err := d.DialContext(ctx, "tcp", o.master)
		if err != nil || cfg == nil {
			return conn, err
		}
		tc := tls.Client(conn, cfg)
		hctx, cancel := context.WithTimeout(ctx, o.dialTimeout)
		defer cancel()
		if err := tc.HandshakeContext(hctx); err != nil {
			conn.Close()
			return nil, fmt.Errorf("TLS handshake with master %s: %w", o.master, err)
		}
		return tc, nil
	}, nil
}

// onlineDoc is `verify --online --json`'s output: one object on one line.
type onlineDoc struct {
	Verdict  string `json:"verdict"` // identical, different, repaired or error
	Master   string `json:"master"`
	Dir      string `json:"dir"`
	StateDir string `json:"state_dir"`
	Rate     int64  `json:"rate_bytes_per_second"`
	Repair   bool   `json:"repair"`
	Error    string `json:"error,omitempty"`
	*onlineverify.Report
}

// runOnline runs the online comparison and prints its report.
func (c *verifyCmd) runOnline(ctx context.Context, stdout, stderr io.Writer) error {
	doc := onlineDoc{Master: c.on.master, Dir: c.on.dir, StateDir: c.on.stateDir, Rate: c.rate, Repair: c.on.repair}
	rep, err := c.online(ctx, stderr)
	doc.Report = rep
	if err == nil && rep.ComparedBytes == 0 {
		err = errors.New("nothing was compared (see what was not, and why): the master's lineage may not cover these bytes yet, or it keeps none (no --state-dir)")
	}
	switch {
	case err != nil:
		err = fmt.Errorf("verify --online: %w", err)
		doc.Verdict, doc.Error = "error", err.Error()
	case rep.Unrepaired() > 0:
		doc.Verdict, err = "different", onlineDiffers{rep.Unrepaired()}
	case len(rep.Differences) > 0:
		doc.Verdict = "repaired"
	default:
		doc.Verdict = "identical"
	}
	if c.json {
		writeVerifyJSON(stdout, doc)
	} else if rep != nil {
		printOnline(stdout, doc)
	}
	return err
}

// online opens the layout and the slave's range, dials and compares.
func (c *verifyCmd) online(ctx context.Context, stderr io.Writer) (*onlineverify.Report, error) {
	c.a, c.b = c.on.dir, c.on.dir // segment-size detection looks at --dir
	lay, closeLayout, _, err := c.openLayout()
	if err != nil {
		return nil, err
	}
	defer closeLayout()
	local, err := onlineverify.OpenLocal(lay, c.on.dir, c.on.stateDir)
	if err != nil {
		return nil, err
	}
	dial, err := c.on.dialer()
	if err != nil {
		return nil, err
	}
	src, err := onlineverify.Dial(ctx, dial)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	pr := newProgress(stderr)
	defer pr.finish()
	return onlineverify.Run(ctx, src, local, onlineverify.Options{Rate: c.rate, Repair: c.on.repair,
		RepairLog: filepath.Join(c.on.stateDir, onlineverify.RepairLogName), Progress: pr.update})
}

// onlineDiffers is the exit status when blocks differ from the master's
// (and were not repaired).
type onlineDiffers struct{ n int }

func (e onlineDiffers) Error() string {
	return fmt.Sprintf("the directory differs from the master (%d differing ranges not repaired)", e.n)
}
func (e onlineDiffers) ExitCode() int { return 2 }

// printOnline is the human report: what was compared, every difference,
// what was not compared and why.
func printOnline(w io.Writer, d onlineDoc) {
	r := d.Report
	fmt.Fprintf(w, "%s: slave range [%d, %d) (end from the %s), master %s end %d, block size %s\n",
		d.Dir, r.LocalBase, r.LocalEnd, r.LocalEndFrom, d.Master, r.MasterEnd, bytesize.Format(r.BlockSize))
	fmt.Fprintf(w, "compared %d bytes: %d match, %d differ; %d not compared; master %d bytes ahead (not compared); %.1fs\n",
		r.ComparedBytes, r.MatchedBytes, r.DifferentBytes, r.NotComparedSize, r.MasterAhead, r.Seconds)
	for _, x := range r.Differences {
		fmt.Fprintf(w, "DIFFERS %s [%d, %d) %d bytes", x.Segment, x.Offset, x.End(), x.Length)
		if x.Repair != "" {
			fmt.Fprintf(w, ": %s", x.Repair)
		}
		fmt.Fprintln(w)
	}
	if r.OmittedDifferences > 0 {
		fmt.Fprintf(w, "... and %d more differing ranges not listed\n", r.OmittedDifferences)
	}
	for _, s := range r.NotCompared {
		fmt.Fprintf(w, "not compared %s [%d, %d) %d bytes: %s\n", s.Segment, s.Offset, s.End(), s.Length, s.Reason)
	}
	if d.Repair {
		fmt.Fprintf(w, "repair: fetched %d bytes from the master, repaired %d bytes\n", r.FetchedBytes, r.RepairedBytes)
	}
	fmt.Fprintln(w, d.Verdict)
}
