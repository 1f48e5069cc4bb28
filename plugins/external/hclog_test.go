package external

import (
	"errors"
	"testing"

	"github.com/hashicorp/go-hclog"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

func TestZapHCLogLevelsAndFields(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	var l hclog.Logger = newZapHCLog(zap.New(core))
	l = l.Named("plugin").With("@module", "crc32c")
	l.Trace("t")
	l.Debug("d")
	l.Info("i", "segment_size", 42, "timestamp", "x")
	l.Warn("w", "err", errors.New("boom"))
	l.Error("e", "odd")
	l.Log(hclog.Off, "off")
	want := map[string]zapcore.Level{"t": zapcore.DebugLevel, "d": zapcore.DebugLevel, "i": zapcore.InfoLevel,
		"w": zapcore.WarnLevel, "e": zapcore.ErrorLevel, "off": zapcore.InfoLevel}
	if logs.Len() != len(want) {
		t.Fatalf("got %d entries: %+v", logs.Len(), logs.All())
	}
	for _, e := range logs.All() {
		if e.Level != want[e.Message] {
			t.Errorf("%q at %s, want %s", e.Message, e.Level, want[e.Message])
		}
		if e.LoggerName != "plugin" || e.ContextMap()["module"] != "crc32c" {
			t.Errorf("%q: logger %q fields %v", e.Message, e.LoggerName, e.ContextMap())
		}
	}
	info := logs.FilterMessage("i").All()[0].ContextMap()
	if info["segment_size"] != int64(42) || info["timestamp"] != nil {
		t.Errorf("info fields: %v", info)
	}
	if got := logs.FilterMessage("e").All()[0].ContextMap()["extra_value_at_end"]; got != "odd" {
		t.Errorf("odd argument: %v", got)
	}
	if l.Name() != "plugin" || l.GetLevel() != hclog.Trace || !l.IsTrace() {
		t.Errorf("name %q level %s", l.Name(), l.GetLevel())
	}
}

func TestZapHCLogLevelFollowsCore(t *testing.T) {
	core, logs := observer.New(zapcore.WarnLevel)
	l := newZapHCLog(zap.New(core))
	if l.GetLevel() != hclog.Warn || l.IsInfo() || !l.IsError() {
		t.Fatalf("level %s", l.GetLevel())
	}
	l.Info("dropped")
	l.Warn("kept")
	if logs.Len() != 1 || logs.All()[0].Message != "kept" {
		t.Fatalf("entries: %+v", logs.All())
	}
}

func TestLineLogger(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	w := &lineLogger{z: zap.New(core)}
	for _, s := range []string{"hel", "lo\r\nwor", "ld\n", "partial"} {
		if n, err := w.Write([]byte(s)); n != len(s) || err != nil {
			t.Fatal(n, err)
		}
	}
	var lines []string
	for _, e := range logs.All() {
		if e.Level != zapcore.WarnLevel {
			t.Errorf("output at %s", e.Level)
		}
		lines = append(lines, e.ContextMap()["line"].(string))
	}
	if len(lines) != 2 || lines[0] != "hello" || lines[1] != "world" {
		t.Fatalf("lines %q", lines)
	}
	w.Write(make([]byte, maxLine+1))
	if logs.Len() != 3 {
		t.Fatal("a runaway line was not flushed")
	}
}
