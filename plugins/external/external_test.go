package external

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"syscall"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/hasidecar/hasidecar/plugins"
	"github.com/hasidecar/hasidecar/plugins/crc32c"
	"github.com/hasidecar/hasidecar/plugins/shared"
	"github.com/hasidecar/hasidecar/sidecar/sidecartest"
)

const segSize = 1 << 20

// start launches the real plugin with a debug-level observed logger and
// closes it at the end of the test, checking that no process is left.
func start(t *testing.T, opts Options) (*Layout, *observer.ObservedLogs) {
	t.Helper()
	core, logs := observer.New(zapcore.DebugLevel)
	if opts.Path == "" {
		opts.Path = pluginBin
	}
	if opts.Args == nil {
		opts.Args = []string{"-segment-size", strconv.Itoa(segSize)}
	}
	if opts.MinBackoff == 0 {
		opts.MinBackoff, opts.MaxBackoff = 20*time.Millisecond, 200*time.Millisecond
	}
	before := runtime.NumGoroutine()
	l, err := Start(zap.New(core), opts)
	if err != nil {
		t.Fatal(err)
	}
	pid := l.Pid()
	t.Cleanup(func() {
		last := l.Pid()
		if err := l.Close(); err != nil {
			t.Error(err)
		}
		for _, p := range []int{pid, last} {
			if p != 0 && !gone(p) {
				t.Errorf("plugin process %d outlived Close", p)
			}
		}
		sidecartest.Eventually(t, 5*time.Second, "goroutines to end", func() bool { return runtime.NumGoroutine() <= before })
	})
	return l, logs
}

// gone reports whether no process (not even a zombie) has that pid.
func gone(pid int) bool {
	return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}

// writeDir writes a crc32c directory with n records and returns the path of
// segment 0.
func writeDir(t *testing.T, n int) string {
	t.Helper()
	dir := t.TempDir()
	w, err := crc32c.OpenWriter(nil, dir, segSize)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	for i := 0; i < n; i++ {
		if _, err := w.Append([]byte("record " + strconv.Itoa(i))); err != nil {
			t.Fatal(err)
		}
	}
	l, _ := crc32c.New(segSize)
	return filepath.Join(dir, l.SegmentName(0))
}

func TestPluginServesTheLayout(t *testing.T) {
	l, logs := start(t, Options{})
	want, _ := crc32c.New(segSize)
	if l.Info() != want.Info() {
		t.Fatalf("Info = %v, want %v", l.Info(), want.Info())
	}
	for _, start := range []int64{0, segSize, 7 * segSize} {
		if got := l.SegmentName(start); got != want.SegmentName(start) {
			t.Fatalf("SegmentName(%d) = %q", start, got)
		}
	}
	if s, ok := l.ParseName(want.SegmentName(segSize)); !ok || s != segSize {
		t.Fatalf("ParseName = %d, %t", s, ok)
	}
	if _, ok := l.ParseName("checkpoint"); ok {
		t.Fatal("ParseName(checkpoint) accepted")
	}
	seg := writeDir(t, 10)
	got, err := l.Scan(seg, 0, 0)
	wantScan, _ := want.Scan(seg, 0, 0)
	if err != nil || got != wantScan || got.End == 0 {
		t.Fatalf("Scan = %+v, %v; in-process %+v", got, err, wantScan)
	}
	if ok, err := l.IsBoundary(seg, 0, got.Stable); err != nil || !ok {
		t.Fatalf("IsBoundary(Stable) = %t, %v", ok, err)
	}
	if ok, err := l.IsBoundary(seg, 0, got.Stable+1); err != nil || ok {
		t.Fatalf("IsBoundary(Stable+1) = %t, %v", ok, err)
	}
	_, err = l.Scan(filepath.Join(t.TempDir(), "missing"), 0, 0)
	var remote *shared.RemoteError
	if !errors.Is(err, fs.ErrNotExist) || !errors.As(err, &remote) || errors.Is(err, ErrUnavailable) {
		t.Fatalf("Scan(missing) = %v, want a layout error wrapping fs.ErrNotExist", err)
	}
	if l.Pid() == 0 {
		t.Fatal("a layout error took the plugin down")
	}
	checkRelayed(t, logs, "crc32c layout plugin starting", zapcore.InfoLevel)
}

// checkRelayed asserts the plugin's log line arrived at its level with the
// plugin's fields.
func checkRelayed(t *testing.T, logs *observer.ObservedLogs, msg string, level zapcore.Level) {
	t.Helper()
	sidecartest.Eventually(t, 5*time.Second, "relayed log line "+msg, func() bool {
		return logs.FilterMessage(msg).Len() > 0
	})
	e := logs.FilterMessage(msg).All()[0]
	if e.Level != level {
		t.Errorf("%q relayed at %s, want %s", msg, e.Level, level)
	}
	fields := e.ContextMap()
	if fields["module"] != "crc32c" {
		t.Errorf("%q lost its fields: %v", msg, fields)
	}
	if msg == "crc32c layout plugin starting" && fields["segment_size"] != float64(segSize) {
		t.Errorf("segment_size field = %v (%T)", fields["segment_size"], fields["segment_size"])
	}
}

func TestCrashIsRestarted(t *testing.T) {
	l, logs := start(t, Options{})
	seg := writeDir(t, 3)
	if _, err := l.Scan(seg, 0, 0); err != nil {
		t.Fatal(err)
	}
	old := l.Pid()
	l.mu.Lock()
	client := l.cur.client
	l.mu.Unlock()
	if err := syscall.Kill(old, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	sidecartest.Eventually(t, 5*time.Second, "go-plugin to see the exit", client.Exited)
	if _, err := l.Scan(seg, 0, 0); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Scan on a dead plugin = %v, want ErrUnavailable", err)
	}
	var s plugins.Scan
	sidecartest.Eventually(t, 10*time.Second, "the restarted plugin to answer", func() bool {
		var err error
		s, err = l.Scan(seg, 0, 0)
		if err != nil && !errors.Is(err, ErrUnavailable) {
			t.Fatalf("Scan during restart = %v", err)
		}
		return err == nil
	})
	if s.End == 0 || l.Pid() == old || l.Pid() == 0 || !gone(old) {
		t.Fatalf("after restart: scan %+v, pid %d (old %d, gone %t)", s, l.Pid(), old, gone(old))
	}
	crashed := logs.FilterMessage("layout plugin crashed").All()
	if len(crashed) != 1 || crashed[0].Level != zapcore.ErrorLevel {
		t.Fatalf("crash log lines: %+v", crashed)
	}
	f := crashed[0].ContextMap()
	if f["pid"] != int64(old) || f["exit_status"] != "signal: killed" || f["path"] != pluginBin {
		t.Fatalf("crash log fields: %v", f)
	}
	if logs.FilterMessage("layout plugin restarted").Len() != 1 {
		t.Fatal("no restart log line")
	}
}

func TestHangIsDetectedAndRestarted(t *testing.T) {
	hang := filepath.Join(t.TempDir(), "hang")
	if err := os.WriteFile(hang, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	const timeout = 300 * time.Millisecond
	l, logs := start(t, Options{CallTimeout: timeout, Env: []string{"HASIDECAR_LAYOUT_TEST_HANG_FILE=" + hang}})
	checkRelayed(t, logs, "test hook: Scan blocks while the hang file exists", zapcore.WarnLevel)
	seg := writeDir(t, 3)
	old := l.Pid()
	begin := time.Now()
	_, err := l.Scan(seg, 0, 0)
	took := time.Since(begin)
	if !errors.Is(err, ErrUnavailable) || !errors.Is(err, shared.ErrTimeout) {
		t.Fatalf("hung Scan = %v, want ErrUnavailable and ErrTimeout", err)
	}
	if took < timeout || took > timeout+2*time.Second {
		t.Fatalf("hang detected after %s, CallTimeout %s", took, timeout)
	}
	if err := os.Remove(hang); err != nil {
		t.Fatal(err)
	}
	sidecartest.Eventually(t, 10*time.Second, "the restarted plugin to answer", func() bool {
		_, err := l.Scan(seg, 0, 0)
		return err == nil
	})
	sidecartest.Eventually(t, 5*time.Second, "the hung process to be gone", func() bool { return gone(old) })
	hung := logs.FilterMessage("layout plugin hung; killed it").All()
	if len(hung) != 1 || hung[0].Level != zapcore.ErrorLevel || hung[0].ContextMap()["pid"] != int64(old) {
		t.Fatalf("hang log lines: %+v", hung)
	}
}

func TestInfoChangeIsRefused(t *testing.T) {
	dir := t.TempDir()
	sizeFile := filepath.Join(dir, "size")
	if err := os.WriteFile(sizeFile, []byte("1MiB"), 0o644); err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(dir, "plugin.sh")
	body := "#!/bin/sh\nexec " + pluginBin + " -segment-size \"$(cat " + sizeFile + ")\"\n"
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	l, logs := start(t, Options{Path: script, Args: []string{}})
	if err := os.WriteFile(sizeFile, []byte("2MiB"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(l.Pid(), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	seg := writeDir(t, 1)
	sidecartest.Eventually(t, 10*time.Second, "ErrInfoChanged", func() bool {
		_, err := l.Scan(seg, 0, 0)
		return errors.Is(err, ErrInfoChanged)
	})
	if name := l.SegmentName(12345 * segSize); name != "" {
		t.Fatalf("SegmentName after the refusal = %q", name)
	}
	if logs.FilterMessage("layout plugin changed its layout; refusing it").Len() != 1 {
		t.Fatal("no refusal log line")
	}
	if l.Pid() != 0 {
		t.Fatal("a refused plugin is in service")
	}
}

func TestStartErrors(t *testing.T) {
	if _, err := Start(nil, Options{}); !errors.Is(err, plugins.ErrBadConfig) {
		t.Fatalf("Start without a path = %v", err)
	}
	if _, err := Start(nil, Options{Path: filepath.Join(t.TempDir(), "nope")}); err == nil {
		t.Fatal("Start of a missing binary succeeded")
	}
	// The plugin refuses a bad size and exits before the handshake.
	opts := Options{Path: pluginBin, Args: []string{"-segment-size", "1"}, StartTimeout: 5 * time.Second}
	if _, err := Start(zap.NewNop(), opts); err == nil {
		t.Fatal("Start with a bad segment size succeeded")
	}
}

func TestCloseIsIdempotentAndRefusesCalls(t *testing.T) {
	l, _ := start(t, Options{})
	pid := l.Pid()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if !gone(pid) {
		t.Fatalf("plugin %d still running after Close", pid)
	}
	if _, err := l.Scan("x", 0, 0); !errors.Is(err, plugins.ErrClosed) {
		t.Fatalf("Scan after Close = %v", err)
	}
	if _, ok := l.ParseName("never-seen"); ok {
		t.Fatal("ParseName after Close accepted")
	}
}

// TestConcurrentCallsAcrossACrash has several goroutines scanning while the
// plugin is killed: every call either answers correctly or says
// ErrUnavailable, and exactly one restart happens.
func TestConcurrentCallsAcrossACrash(t *testing.T) {
	l, logs := start(t, Options{})
	seg := writeDir(t, 20)
	want, err := l.Scan(seg, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	old := l.Pid()
	stop := make(chan struct{})
	errc := make(chan error, 4)
	for i := 0; i < 4; i++ {
		go func() {
			for {
				select {
				case <-stop:
					errc <- nil
					return
				default:
				}
				s, err := l.Scan(seg, 0, 0)
				if err != nil && !errors.Is(err, ErrUnavailable) || err == nil && s != want {
					errc <- fmt.Errorf("Scan = %+v, %w", s, err)
					return
				}
			}
		}()
	}
	if err := syscall.Kill(old, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	sidecartest.Eventually(t, 10*time.Second, "a new plugin", func() bool { p := l.Pid(); return p != 0 && p != old })
	close(stop)
	for i := 0; i < 4; i++ {
		if err := <-errc; err != nil {
			t.Error(err)
		}
	}
	if n := logs.FilterMessage("layout plugin restarted").Len(); n != 1 {
		t.Fatalf("%d restarts, want 1", n)
	}
}
