package shared

import (
	"errors"
	"fmt"
	"io/fs"
	"testing"
	"time"

	"github.com/hashicorp/go-plugin"

	"github.com/hasidecar/hasidecar/plugins"
)

var errOther = errors.New("fake: something else")

// fakeLayout answers from fields and returns errs[path] from Scan and
// IsBoundary. A Scan of "block" waits for release.
type fakeLayout struct {
	errs    map[string]error
	release chan struct{}
}

func (f *fakeLayout) Info() plugins.Info {
	return plugins.Info{Name: "fake", SegmentSize: 4096, Preallocated: true}
}
func (f *fakeLayout) SegmentName(start int64) string { return fmt.Sprintf("f-%d", start) }
func (f *fakeLayout) ParseName(name string) (int64, bool) {
	var s int64
	_, err := fmt.Sscanf(name, "f-%d", &s)
	return s, err == nil
}
func (f *fakeLayout) Scan(path string, start, from int64) (plugins.Scan, error) {
	if path == "block" {
		<-f.release
	}
	if err := f.errs[path]; err != nil {
		return plugins.Scan{}, err
	}
	return plugins.Scan{End: from + 100, Stable: from + 50}, nil
}
func (f *fakeLayout) IsBoundary(path string, start, off int64) (bool, error) {
	return off%2 == 0, f.errs[path]
}

// connect serves impl in-process through go-plugin's RPC machinery and
// returns the dispensed client.
func connect(t *testing.T, impl plugins.Layout) (*LayoutRPC, *plugin.RPCClient) {
	t.Helper()
	client, _ := plugin.TestPluginRPCConn(t, map[string]plugin.Plugin{PluginName: &LayoutPlugin{Impl: impl}}, nil)
	t.Cleanup(func() { client.Close() })
	raw, err := client.Dispense(PluginName)
	if err != nil {
		t.Fatal(err)
	}
	return raw.(*LayoutRPC), client
}

func TestRPCMethods(t *testing.T) {
	l, _ := connect(t, &fakeLayout{})
	if got := l.Info(); got != (plugins.Info{Name: "fake", SegmentSize: 4096, Preallocated: true}) {
		t.Fatalf("Info = %v", got)
	}
	if got := l.SegmentName(8192); got != "f-8192" {
		t.Fatalf("SegmentName = %q", got)
	}
	if s, ok := l.ParseName("f-4096"); !ok || s != 4096 {
		t.Fatalf("ParseName = %d, %t", s, ok)
	}
	if _, ok := l.ParseName("other"); ok {
		t.Fatal("ParseName(other) accepted")
	}
	if s, err := l.Scan("p", 0, 10); err != nil || s != (plugins.Scan{End: 110, Stable: 60}) {
		t.Fatalf("Scan = %+v, %v", s, err)
	}
	if ok, err := l.IsBoundary("p", 0, 10); err != nil || !ok {
		t.Fatalf("IsBoundary = %t, %v", ok, err)
	}
	if ok, err := l.IsBoundary("p", 0, 11); err != nil || ok {
		t.Fatalf("IsBoundary(11) = %t, %v", ok, err)
	}
}

func TestRPCErrorKindsSurvive(t *testing.T) {
	errs := map[string]error{
		"missing": fmt.Errorf("open segment: %w", &fs.PathError{Op: "open", Path: "missing", Err: fs.ErrNotExist}),
		"denied":  fmt.Errorf("open: %w", fs.ErrPermission),
		"corrupt": fmt.Errorf("scan x: %w", plugins.ErrCorrupt),
		"config":  fmt.Errorf("new: %w", plugins.ErrBadConfig),
		"range":   fmt.Errorf("scan z: %w", plugins.ErrRange),
		"notseg":  fmt.Errorf("scan d: %w", plugins.ErrNotSegment),
		"other":   fmt.Errorf("scan y: %w", errOther),
	}
	l, _ := connect(t, &fakeLayout{errs: errs})
	for path, want := range map[string]error{
		"missing": fs.ErrNotExist, "denied": fs.ErrPermission, "corrupt": plugins.ErrCorrupt,
		"config": plugins.ErrBadConfig, "range": plugins.ErrRange, "notseg": plugins.ErrNotSegment, "other": nil,
	} {
		_, serr := l.Scan(path, 0, 0)
		_, berr := l.IsBoundary(path, 0, 0)
		for _, err := range []error{serr, berr} {
			var re *RemoteError
			if !errors.As(err, &re) || err.Error() != errs[path].Error() {
				t.Errorf("%s: got %v (%T), want a RemoteError with the plugin's message", path, err, err)
			}
			if want != nil && !errors.Is(err, want) {
				t.Errorf("%s: %v does not wrap %v", path, err, want)
			}
			if errors.Is(err, ErrTransport) || errors.Is(err, ErrTimeout) {
				t.Errorf("%s: a layout error reads as a transport failure: %v", path, err)
			}
		}
	}
}

func TestRPCTimeoutAndTransportErrors(t *testing.T) {
	f := &fakeLayout{release: make(chan struct{})}
	l, client := connect(t, f)
	lt := l.WithTimeout(50 * time.Millisecond)
	start := time.Now()
	_, err := lt.Scan("block", 0, 0)
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("blocked Scan = %v, want ErrTimeout", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("timeout took %s", d)
	}
	close(f.release) // let the server goroutine finish
	if _, err := lt.Scan("p", 0, 0); err != nil {
		t.Fatalf("Scan after a timeout: %v", err)
	}
	if err := client.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Scan("p", 0, 0); !errors.Is(err, ErrTransport) {
		t.Fatalf("Scan on a closed connection = %v, want ErrTransport", err)
	}
	if _, err := l.Describe(); !errors.Is(err, ErrTransport) {
		t.Fatalf("Describe on a closed connection = %v", err)
	}
	if _, ok, err := l.Parse("f-1"); ok || !errors.Is(err, ErrTransport) {
		t.Fatalf("Parse on a closed connection = %t, %v", ok, err)
	}
	if name, err := l.Name(0); name != "" || !errors.Is(err, ErrTransport) {
		t.Fatalf("Name on a closed connection = %q, %v", name, err)
	}
	if l.Info() != (plugins.Info{}) || l.SegmentName(1) != "" {
		t.Fatal("interface methods on a closed connection returned data")
	}
}

func TestEncodeError(t *testing.T) {
	if w := EncodeError(nil); w.Kind != KindNone || w.Err() != nil {
		t.Fatalf("EncodeError(nil) = %+v", w)
	}
	if err := EncodeError(errOther).Err(); errors.Unwrap(err) != nil || err.Error() != errOther.Error() {
		t.Fatalf("other: %v", err)
	}
}
