package tailer

import (
	"bytes"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest"
	"go.uber.org/zap/zaptest/observer"

	"github.com/hasidecar/hasidecar/plugins/fsio/fsiotest"
	"github.com/hasidecar/hasidecar/sidecar/sidecartest"
)

// TestLiveSegmentIOError: while fstat or open of the live segment fails
// with EIO, the tailer logs it once (rate-limited), keeps retrying and
// publishes nothing past what it verified before; once the fault clears it
// catches up. The live segment's descriptor stays open, so an open happens
// only for another file: here the writer's restart renames one over it.
func TestLiveSegmentIOError(t *testing.T) {
	grow := func(t *testing.T, path string) { appendFile(t, path, bytes.Repeat([]byte{2}, 1000)) }
	restart := func(t *testing.T, path string) {
		replaceFile(t, path, append(bytes.Repeat([]byte{1}, 1000), bytes.Repeat([]byte{2}, 1000)...))
	}
	for _, tc := range []struct {
		name   string
		ops    fsiotest.Op
		msg    string
		change func(t *testing.T, path string)
	}{
		{"stat", fsiotest.OpStat, "stat segment; retrying", grow},
		{"open", fsiotest.OpOpen, "remap changed segment", restart},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			l := &testLayout{size: 1 << 16}
			path := filepath.Join(dir, l.SegmentName(0))
			appendFile(t, path, bytes.Repeat([]byte{1}, 1000))
			efs := fsiotest.New(nil, 1)
			core, logs := observer.New(zapcore.WarnLevel)
			log := zap.New(zapcore.NewTee(zaptest.NewLogger(t).Core(), core))
			opts := fastOpts
			opts.FS = efs
			tl := startTailerLog(t, log, dir, l, opts)
			waitState(t, tl, 5*time.Second, "end 1000", func(st State) bool { return st.End == 1000 })

			inj := efs.Inject(fsiotest.Fault{Ops: tc.ops, Path: l.SegmentName(0), Err: syscall.EIO})
			tc.change(t, path)
			sidecartest.Eventually(t, 5*time.Second, "20 failed calls", func() bool { return inj.Hits() >= 20 })
			if st := tl.State(); st.End != 1000 {
				t.Fatalf("published end %d while the segment could not be examined, want 1000", st.End)
			}
			if n := logs.FilterMessage(tc.msg).FilterField(zap.String("segment", l.SegmentName(0))).Len(); n != 1 {
				t.Fatalf("%d %q lines after %d failures, want 1 (rate-limited)", n, tc.msg, inj.Hits())
			}

			inj.Remove()
			waitState(t, tl, 5*time.Second, "end 2000", func(st State) bool { return st.End == 2000 })
			got := drain(t, tl, 0, 2000, 4096)
			want := append(bytes.Repeat([]byte{1}, 1000), bytes.Repeat([]byte{2}, 1000)...)
			if !bytes.Equal(got, want) {
				t.Fatal("bytes read after the fault cleared differ from the file's")
			}
		})
	}
}

// appendFile appends b to the file at path with write(2).
func appendFile(t *testing.T, path string, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(b); err != nil {
		t.Fatal(err)
	}
}
