package main

import (
	"flag"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hasidecar/hasidecar/sidecar/sidecartest"
)

// roleFixture is a role's valid base configuration over real directories.
type roleFixture struct {
	role     string
	dir      string
	stateDir string
	base     map[string]string // flag name -> value of a valid configuration
}

func newRoleFixture(t *testing.T, role string) *roleFixture {
	root := t.TempDir()
	f := &roleFixture{role: role, dir: filepath.Join(root, "commitlog"), stateDir: filepath.Join(root, "state")}
	for _, d := range []string{f.dir, f.stateDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(f.dir, "00000000000000000000"), make([]byte, 1<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	f.base = map[string]string{"dir": f.dir, "listen": freeAddr(t)}
	if role == "slave" {
		f.base = map[string]string{"dir": f.dir, "state-dir": f.stateDir, "master": freeAddr(t)}
	}
	return f
}

// snapshot lists every path under the fixture's directories with its size.
func (f *roleFixture) snapshot(t *testing.T) string {
	var b strings.Builder
	for _, root := range []string{f.dir, f.stateDir} {
		filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			info, _ := d.Info()
			fmt.Fprintf(&b, "%s %d\n", p, info.Size())
			return nil
		})
	}
	return b.String()
}

// toml writes the base configuration with over applied, TOML-typed the way
// each flag wants (integers bare, the rest as strings).
func (f *roleFixture) toml(t *testing.T, over map[string]string) string {
	kinds := roleFlags(f.role)
	vals := map[string]string{}
	for k, v := range f.base {
		vals[k] = v
	}
	for k, v := range over {
		vals[k] = v
	}
	var b strings.Builder
	fmt.Fprintf(&b, "role = %q\n[%s]\n", f.role, f.role)
	for _, k := range slices.Sorted(maps.Keys(vals)) {
		if kinds[k] == kindInt {
			fmt.Fprintf(&b, "%s = %s\n", k, vals[k])
		} else {
			fmt.Fprintf(&b, "%s = %q\n", k, vals[k])
		}
	}
	return writeFile(t, f.role+".toml", b.String())
}

// roleFlags is every flag of the role and its kind.
func roleFlags(role string) map[string]flagKind {
	out := map[string]flagKind{}
	fsOf(role).VisitAll(func(fl *flagT) { out[fl.Name] = kindOf(fl) })
	return out
}

// errLine is the error a failed run printed ("hasidecar: " stripped).
func errLine(out string) string {
	for _, l := range strings.Split(out, "\n") {
		if s, ok := strings.CutPrefix(l, "hasidecar: "); ok {
			return s
		}
	}
	return ""
}

// badValues has, for every flag of master and slave that takes a value, a
// value the role must refuse at start. The fixture's dir is "DIR".
var badValues = map[string]string{
	"log-level": "loud", "log-format": "xml", "layout": "nosuch", "segment-size": "12parsecs",
	"layout-plugin-timeout": "0s", "rocketmq-magic": "x", "rocketmq-blank-magic": "1,2",
	"metrics-listen": "nohostport", "tls-cert": "/c.pem", "tls-key": "/k.pem", "tls-ca": "/ca.pem",
	"dir": "", "listen": "nope", "batch": "10MiB", "initial": "most", "heartbeat": "1ns", "housekeeping": "-1s",
	"report-grace": "0s", "gap-log": "0s", "max-slaves": "-1", "max-meta-conns": "-1", "max-digest-conns": "-1", "allow-slaves": ",,,,",
	"poll-min": "0s", "poll-max": "0s", "settle": "0s", "rescan": "0s", "ack-socket-mode": "9",
	"ack-max-conns": "0", "ack-max-waits": "0", "ack-policy": "most", "fallbehind-max": "0",
	"meta-include": "[", "meta-max-size": "0", "scrub-rate": "fast", "state-dir": "DIR", "master": "127.0.0.1", "name": "two words",
	"fsync": "sometimes", "ack-after": "never", "max-backoff": "0s", "meta-interval": "0s",
}

// anyValue are the value flags for which no value is wrong before use: a
// path or a name checked when it is used.
var anyValue = []string{"config", "layout-plugin", "layout-plugin-args", "ack-socket", "meta-dir", "tls-server-name"}

// TestE2EBadValueSameEverywhere: every bad value, through the flag, the
// environment and the file, gives `config check` and `run` the same error,
// and nothing on disk changes.
func TestE2EBadValueSameEverywhere(t *testing.T) {
	for _, role := range []string{"master", "slave"} {
		for name, kind := range roleFlags(role) {
			if kind == kindBool || slices.Contains(anyValue, name) {
				continue
			}
			bad, ok := badValues[name]
			if !ok {
				t.Errorf("%s --%s: no bad value in badValues", role, name)
				continue
			}
			t.Run(role+"/"+name, func(t *testing.T) { checkBadValue(t, role, name, bad) })
		}
	}
}

func checkBadValue(t *testing.T, role, name, bad string) {
	f := newRoleFixture(t, role)
	bad = strings.ReplaceAll(bad, "DIR", f.dir)
	before := f.snapshot(t)
	good := f.toml(t, nil)
	// The file.
	file := f.toml(t, map[string]string{name: bad})
	_, checkOut, checkCode := runSplit(t, nil, "config", "check", file)
	_, runErr, runCode := runSplit(t, nil, "run", "--config", file)
	sameError(t, "file", checkOut, checkCode, runErr, runCode)
	// The environment.
	env := []string{envName(name) + "=" + bad}
	_, checkOut, checkCode = runSplit(t, env, "config", "check", good)
	_, runErr, runCode = runSplit(t, env, "run", "--config", good)
	sameError(t, "environment", checkOut, checkCode, runErr, runCode)
	// The command line: the role itself and `run` agree.
	args := []string{role}
	for k, v := range f.base {
		if k != name {
			args = append(args, "--"+k, v)
		}
	}
	_, roleErr, roleCode := runSplit(t, nil, append(args, "--"+name, bad)...)
	_, runErr, runCode = runSplit(t, nil, "run", "--config", good, "--"+name, bad)
	if roleCode != 64 || runCode != 64 || errLine(roleErr) == "" || errLine(roleErr) != errLine(runErr) {
		t.Errorf("flag: %s exit %d %q; run exit %d %q; want exit 64 and the same error", role, roleCode, roleErr, runCode, runErr)
	}
	if after := f.snapshot(t); after != before {
		t.Errorf("the directories changed:\nbefore\n%s\nafter\n%s", before, after)
	}
}

func sameError(t *testing.T, via, checkOut string, checkCode int, runErr string, runCode int) {
	t.Helper()
	line := errLine(runErr)
	if checkCode != 1 || runCode == 0 || line == "" || !strings.Contains(checkOut, strings.SplitN(line, "\n", 2)[0]) {
		t.Errorf("%s: config check exit %d:\n%s\nrun exit %d:\n%s\nwant both to fail with the same error", via, checkCode, checkOut, runCode, runErr)
	}
}

// TestE2EConfigCheckRefusesWhatRunRefuses: files `run` would refuse do not
// pass the check.
func TestE2EConfigCheckRefusesWhatRunRefuses(t *testing.T) {
	for name, text := range map[string]string{
		"no-role":        "[master]\ndir = \"/d\"\n",
		"slave-nomaster": "role = \"slave\"\n[slave]\ndir = \"/d\"\n",
		"bad-size":       "role = \"master\"\n[master]\ndir = \"/d\"\nsegment-size = \"big\"\n",
		"policy-most":    "role = \"master\"\n[master]\ndir = \"/d\"\nack-policy = \"most\"\n",
	} {
		file := writeFile(t, name+".toml", text)
		if out, code := runBin(t, "config", "check", file); code != 1 {
			t.Errorf("%s: config check exit %d, want 1:\n%s", name, code, out)
		}
	}
}

// TestE2EBoundsNameTheLimit: out-of-bounds values are errors naming the
// bound, never clamped or spun on.
func TestE2EBoundsNameTheLimit(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"master", "--dir", dir, "--batch", "10MiB"}, "4 MiB - 12 bytes"},
		{[]string{"master", "--dir", dir, "--allow-slaves", ",,,,"}, "lists no address"},
		{[]string{"master", "--dir", dir, "--heartbeat", "1ns"}, "at least 100ms"},
		{[]string{"slave", "--dir", dir, "--master", "127.0.0.1:1", "--heartbeat", "1ns"}, "at least 100ms"},
		{[]string{"slave", "--dir", dir, "--master", "127.0.0.1:1", "--housekeeping", "500ms"}, "at least 1s"},
		{[]string{"slave", "--dir", dir, "--master", "127.0.0.1:1", "--state-dir", dir}, "outside dir"},
		{[]string{"slave", "--dir", dir, "--master", "127.0.0.1:1", "--state-dir", filepath.Join(dir, "st")}, "outside dir"},
	} {
		_, out, code := runSplit(t, nil, tc.args...)
		if code != 64 || !strings.Contains(out, tc.want) {
			t.Errorf("%v: exit %d, want 64 and %q:\n%s", tc.args, code, tc.want, out)
		}
	}
}

// TestE2EReseedValidatesFirst: a reseed with a bad setting moves nothing.
func TestE2EReseedValidatesFirst(t *testing.T) {
	f := newRoleFixture(t, "slave")
	before := f.snapshot(t)
	_, out, code := runSplit(t, nil, "slave", "--dir", f.dir, "--state-dir", f.stateDir, "--master", freeAddr(t), "--reseed",
		"--meta-dir", t.TempDir(), "--meta-include", "[")
	if code != 64 || !strings.Contains(out, "meta-include") {
		t.Fatalf("exit %d, want 64 naming --meta-include:\n%s", code, out)
	}
	if after := f.snapshot(t); after != before {
		t.Fatalf("the reseed moved files before failing:\nbefore\n%s\nafter\n%s", before, after)
	}
}

// TestE2EReloadRefusesInvalid: a SIGHUP with an invalid value keeps the
// running configuration and says so as an ERROR.
func TestE2EReloadRefusesInvalid(t *testing.T) {
	f := newRoleFixture(t, "master")
	file := f.toml(t, map[string]string{"housekeeping": "20s"})
	m := start(t, "master", "run", "--config", file)
	sidecartest.Eventually(t, 10*time.Second, "master serving", func() bool { return strings.Contains(m.out.String(), "master serving") })
	text, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(file, []byte(strings.Replace(string(text), `"20s"`, `"-1s"`, 1)), 0o600)
	m.cmd.Process.Signal(syscall.SIGHUP)
	sidecartest.Eventually(t, 10*time.Second, "the refused reload", func() bool {
		return strings.Contains(m.out.String(), "ERROR") && strings.Contains(m.out.String(), "reload refused")
	})
	if strings.Contains(m.out.String(), "reloaded") {
		t.Fatalf("an invalid housekeeping was reported as reloaded:\n%s", m.out.String())
	}
}

type flagT = flag.Flag

// fsOf is a fresh FlagSet of the role.
func fsOf(role string) *flag.FlagSet {
	if role == "master" {
		return (&masterCmd{}).flags(io.Discard)
	}
	return (&slaveCmd{}).flags(io.Discard)
}
