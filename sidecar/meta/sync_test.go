package meta

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hasidecar/hasidecar/sidecar/sidecartest"
)

func TestMagic(t *testing.T) {
	var b [8]byte
	m := MetaMagic
	binary.BigEndian.PutUint64(b[:], uint64(m))
	if string(b[:]) != "\xffHASIMD1" {
		t.Fatalf("magic bytes %q", b)
	}
	if !IsMetaMagic(MetaMagic) || IsMetaMagic(0) || IsMetaMagic(int64(binary.BigEndian.Uint64([]byte("\xffHASIDE1")))) {
		t.Fatal("IsMetaMagic")
	}
	if MetaMagic >= 0 {
		t.Fatal("magic must be negative: offset reports never are")
	}
}

func TestSyncAddChangeDelete(t *testing.T) {
	ctx := ctxT(t, 10*time.Second)
	master, slave := t.TempDir(), filepath.Join(t.TempDir(), "config")
	writeFile(t, master, "topics.json", `{"a":1}`)
	writeFile(t, master, "consumerOffset.json", `{"o":2}`)
	writeFile(t, master, "notes.txt", "not included")
	dial := startServer(t, ServerOptions{Dir: master})
	c := newClient(t, slave, dial, nil)

	res := sync1(t, ctx, c)
	if want := []string{"consumerOffset.json", "topics.json"}; !slices.Equal(sorted(res.Updated), want) || len(res.Failed) != 0 {
		t.Fatalf("first sync %+v", res)
	}
	if got := dirNames(t, slave); !slices.Equal(got, []string{"consumerOffset.json", "topics.json"}) {
		t.Fatalf("slave holds %v", got)
	}
	writeFile(t, slave, "local.txt", "the slave's own")

	writeFile(t, master, "topics.json", `{"a":1,"b":2}`)
	writeFile(t, master, "delayOffset.json", `{}`)
	if err := os.Remove(filepath.Join(master, "consumerOffset.json")); err != nil {
		t.Fatal(err)
	}
	res = sync1(t, ctx, c)
	if want := []string{"delayOffset.json", "topics.json"}; !slices.Equal(sorted(res.Updated), want) || len(res.Deleted) != 0 {
		t.Fatalf("second sync %+v", res)
	}
	if got := readFile(t, slave, "topics.json"); got != `{"a":1,"b":2}` {
		t.Fatalf("topics.json = %q", got)
	}
	if got := readFile(t, slave, "consumerOffset.json"); got != `{"o":2}` {
		t.Fatalf("without Delete the vanished file stays, got %q", got)
	}

	cd := newClient(t, slave, dial, func(o *ClientOptions) { o.Delete = true })
	res = sync1(t, ctx, cd)
	if !slices.Equal(res.Deleted, []string{"consumerOffset.json"}) || len(res.Updated) != 0 || len(res.Unchanged) != 2 {
		t.Fatalf("delete sync %+v", res)
	}
	if got := dirNames(t, slave); !slices.Equal(got, []string{"delayOffset.json", "local.txt", "topics.json"}) {
		t.Fatalf("slave holds %v (local.txt must be untouched)", got)
	}
}

func TestUnchangedKeepsMtime(t *testing.T) {
	ctx := ctxT(t, 10*time.Second)
	master, slave := t.TempDir(), t.TempDir()
	writeFile(t, master, "a.json", "1")
	c := newClient(t, slave, startServer(t, ServerOptions{Dir: master}), nil)
	sync1(t, ctx, c)
	old := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	path := filepath.Join(slave, "a.json")
	if err := os.Chtimes(path, old, old); err != nil {
		t.Fatal(err)
	}
	res := sync1(t, ctx, c)
	if !slices.Equal(res.Unchanged, []string{"a.json"}) || len(res.Updated) != 0 {
		t.Fatalf("sync %+v", res)
	}
	fi, err := os.Stat(path)
	if err != nil || !fi.ModTime().Equal(old) {
		t.Fatalf("mtime %v, %v; want %v", fi.ModTime(), err, old)
	}
}

func TestBadFilesFailAlone(t *testing.T) {
	ctx := ctxT(t, 10*time.Second)
	master, slave, outside := t.TempDir(), t.TempDir(), t.TempDir()
	writeFile(t, master, "good.json", `"ok"`)
	writeFile(t, master, "big.json", string(make([]byte, 2048)))
	writeFile(t, master, "mid.json", `"`+strings.Repeat("m", 598)+`"`)
	writeFile(t, outside, "secret.json", "secret")
	must(t, os.Mkdir(filepath.Join(master, "dir.json"), 0o755))
	must(t, syscall.Mkfifo(filepath.Join(master, "fifo.json"), 0o644))
	must(t, os.Symlink("missing.json", filepath.Join(master, "dangling.json")))
	must(t, os.Symlink(filepath.Join(outside, "secret.json"), filepath.Join(master, "escape.json")))
	must(t, os.Symlink("good.json", filepath.Join(master, "alias.json")))
	// The slave must not touch what it cannot mirror: a stale copy stays.
	writeFile(t, slave, "big.json", "stale")

	dial := startServer(t, ServerOptions{Dir: master, MaxFileSize: 1024})
	c := newClient(t, slave, dial, func(o *ClientOptions) { o.MaxFileSize = 512; o.Delete = true })
	res := sync1(t, ctx, c)
	if want := []string{"alias.json", "good.json"}; !slices.Equal(sorted(res.Updated), want) {
		t.Fatalf("updated %v, want %v", res.Updated, want)
	}
	wantFailed := map[string]error{
		"big.json": ErrTooLarge, "mid.json": ErrTooLarge, "dir.json": ErrUnreadable,
		"fifo.json": ErrUnreadable, "dangling.json": ErrUnreadable, "escape.json": ErrUnreadable,
	}
	if len(res.Failed) != len(wantFailed) {
		t.Fatalf("failed %v", res.Failed)
	}
	for name := range wantFailed {
		if res.Failed[name] == "" {
			t.Errorf("%s not reported: %v", name, res.Failed)
		}
	}
	if got := dirNames(t, slave); !slices.Equal(got, []string{"alias.json", "big.json", "good.json"}) {
		t.Fatalf("slave holds %v", got)
	}
	if readFile(t, slave, "big.json") != "stale" || readFile(t, slave, "alias.json") != `"ok"` {
		t.Fatal("contents")
	}
	// The sentinels reach callers of the reader through errors.Is.
	root, err := os.OpenRoot(master)
	must(t, err)
	defer root.Close()
	for name, want := range wantFailed {
		if name == "mid.json" {
			continue // too large only for the client
		}
		if _, err := (reader{root, 1024, ValidateJSON}).readStable(ctx, name); !errors.Is(err, want) {
			t.Errorf("readStable %s: %v, want %v", name, err, want)
		}
	}
	if _, err := (reader{root, 1024, ValidateJSON}).readStable(ctx, "gone.json"); !errors.Is(err, ErrVanished) {
		t.Errorf("readStable gone.json: %v", err)
	}
}

func TestStaleTempsRemovedOthersKept(t *testing.T) {
	ctx := ctxT(t, 10*time.Second)
	master, slave := t.TempDir(), t.TempDir()
	writeFile(t, master, "a.json", "1")
	writeFile(t, slave, ".a.json.tmp-0123456789abcdef", "left by a crash")
	writeFile(t, slave, ".b.txt.tmp-0123456789abcdef", "not ours: b.txt is not included")
	writeFile(t, slave, ".hidden.json", "not ours")
	c := newClient(t, slave, startServer(t, ServerOptions{Dir: master}), func(o *ClientOptions) { o.Delete = true })
	sync1(t, ctx, c)
	want := []string{".b.txt.tmp-0123456789abcdef", ".hidden.json", "a.json"}
	if got := dirNames(t, slave); !slices.Equal(got, want) {
		t.Fatalf("slave holds %v, want %v", got, want)
	}
}

func TestRunSyncsUntilCancelled(t *testing.T) {
	master, slave := t.TempDir(), t.TempDir()
	writeFile(t, master, "a.json", "1")
	c := newClient(t, slave, startServer(t, ServerOptions{Dir: master}), func(o *ClientOptions) {
		o.FirstDelay, o.Interval = 10*time.Millisecond, 20*time.Millisecond
	})
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	sidecartest.Eventually(t, 5*time.Second, "the condition", func() bool { b, _ := os.ReadFile(filepath.Join(slave, "a.json")); return string(b) == "1" })
	writeFile(t, master, "a.json", "2")
	sidecartest.Eventually(t, 5*time.Second, "the condition", func() bool { b, _ := os.ReadFile(filepath.Join(slave, "a.json")); return string(b) == "2" })
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

func TestRunWithoutDial(t *testing.T) {
	if err := NewClient(nil, ClientOptions{Dir: t.TempDir()}).Run(t.Context()); err == nil {
		t.Fatal("Run without Dial must fail")
	}
}

func TestDialFailureIsRoundError(t *testing.T) {
	dialErr := errors.New("refused by test")
	c := NewClient(nil, ClientOptions{Dir: t.TempDir(), Dial: func(context.Context) (net.Conn, error) { return nil, dialErr }})
	if _, err := c.SyncNow(ctxT(t, 5*time.Second)); !errors.Is(err, dialErr) {
		t.Fatalf("SyncNow: %v", err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestManyFreshFilesShareOneWait: files written just now are held back for
// the quiet period together, not one after the other.
func TestManyFreshFilesShareOneWait(t *testing.T) {
	ctx := ctxT(t, 10*time.Second)
	master, slave := t.TempDir(), t.TempDir()
	for i := range 50 {
		writeFile(t, master, fmt.Sprintf("f%02d.json", i), fmt.Sprint(i))
	}
	start := time.Now()
	res := sync1(t, ctx, newClient(t, slave, startServer(t, ServerOptions{Dir: master}), nil))
	if len(res.Updated) != 50 {
		t.Fatalf("%+v", res)
	}
	// One file after another would take 50 quiet periods (5 s).
	if d := time.Since(start); d > 50*settleTime/2 {
		t.Fatalf("sync took %v", d)
	}
}

// TestInvalidJSONNotMirrored: a .json file that is not JSON (say, caught
// half-written) is reported and the slave's copy is kept; with validation
// turned off it is mirrored as it is.
func TestInvalidJSONNotMirrored(t *testing.T) {
	ctx := ctxT(t, 10*time.Second)
	master, slave := t.TempDir(), t.TempDir()
	writeFile(t, master, "a.json", `{"cut":`)
	writeFile(t, master, "b.txt", `{"cut":`)
	writeFile(t, slave, "a.json", `{"old":1}`)
	inc := func(o *ClientOptions) { o.Include = []string{"*.json", "*.txt"} }
	res := sync1(t, ctx, newClient(t, slave, startServer(t, ServerOptions{Dir: master, Include: []string{"*"}}), inc))
	if !strings.Contains(res.Failed["a.json"], "not valid JSON") || !slices.Equal(res.Updated, []string{"b.txt"}) {
		t.Fatalf("%+v", res)
	}
	if readFile(t, slave, "a.json") != `{"old":1}` {
		t.Fatal("slave copy replaced by invalid JSON")
	}
	off := ServerOptions{Dir: master, Validate: func(string, []byte) error { return nil }}
	res = sync1(t, ctx, newClient(t, slave, startServer(t, off), nil))
	if !slices.Equal(res.Updated, []string{"a.json"}) || readFile(t, slave, "a.json") != `{"cut":` {
		t.Fatalf("%+v", res)
	}
}

// TestLocalDirectoryInTheWay: a directory on the slave where a file must go
// fails that file alone and is left as it is, even with Delete.
func TestLocalDirectoryInTheWay(t *testing.T) {
	ctx := ctxT(t, 10*time.Second)
	master, slave := t.TempDir(), t.TempDir()
	writeFile(t, master, "a.json", "1")
	writeFile(t, master, "b.json", "2")
	must(t, os.Mkdir(filepath.Join(slave, "a.json"), 0o755))
	must(t, os.Mkdir(filepath.Join(slave, "c.json"), 0o755))
	c := newClient(t, slave, startServer(t, ServerOptions{Dir: master}), func(o *ClientOptions) { o.Delete = true })
	res := sync1(t, ctx, c)
	if res.Failed["a.json"] == "" || !slices.Equal(res.Updated, []string{"b.json"}) || len(res.Deleted) != 0 {
		t.Fatalf("%+v", res)
	}
	if got := dirNames(t, slave); !slices.Equal(got, []string{"a.json", "b.json", "c.json"}) {
		t.Fatalf("slave holds %v", got)
	}
}
