package external

import (
	"bytes"
	"io"
	"log"
	"strings"
	"sync"

	"github.com/hashicorp/go-hclog"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// zapHCLog is an hclog.Logger writing to zap, for go-plugin's
// ClientConfig.Logger: go-plugin relays each plugin log line through it at the
// line's own level. Trace maps to zap's debug (zap has no trace).
type zapHCLog struct {
	z       *zap.Logger
	name    string
	implied []interface{}
}

var _ hclog.Logger = (*zapHCLog)(nil)

func newZapHCLog(z *zap.Logger) *zapHCLog { return &zapHCLog{z: z} }

// fields turns hclog's alternating key/value arguments into zap fields.
// Keys lose hclog's "@" prefix (so "@module" becomes "module"); go-plugin's
// re-added "timestamp" is dropped, zap stamps the line itself.
func fields(args []interface{}) []zap.Field {
	fs := make([]zap.Field, 0, len(args)/2+1)
	for i := 0; i < len(args); i += 2 {
		if i+1 == len(args) {
			fs = append(fs, zap.Any("extra_value_at_end", args[i]))
			break
		}
		key, ok := args[i].(string)
		if !ok {
			key = "bad_key"
		}
		key = strings.TrimPrefix(key, "@")
		if key == "timestamp" {
			continue
		}
		fs = append(fs, zap.Any(key, args[i+1]))
	}
	return fs
}

func (l *zapHCLog) Log(level hclog.Level, msg string, args ...interface{}) {
	zl := zapcore.InfoLevel
	switch level {
	case hclog.Trace, hclog.Debug:
		zl = zapcore.DebugLevel
	case hclog.Warn:
		zl = zapcore.WarnLevel
	case hclog.Error:
		zl = zapcore.ErrorLevel
	}
	if ce := l.z.Check(zl, msg); ce != nil {
		ce.Write(fields(append(append([]interface{}{}, l.implied...), args...))...)
	}
}

func (l *zapHCLog) Trace(msg string, args ...interface{}) { l.Log(hclog.Trace, msg, args...) }
func (l *zapHCLog) Debug(msg string, args ...interface{}) { l.Log(hclog.Debug, msg, args...) }
func (l *zapHCLog) Info(msg string, args ...interface{})  { l.Log(hclog.Info, msg, args...) }
func (l *zapHCLog) Warn(msg string, args ...interface{})  { l.Log(hclog.Warn, msg, args...) }
func (l *zapHCLog) Error(msg string, args ...interface{}) { l.Log(hclog.Error, msg, args...) }

func (l *zapHCLog) IsTrace() bool { return l.z.Core().Enabled(zapcore.DebugLevel) }
func (l *zapHCLog) IsDebug() bool { return l.z.Core().Enabled(zapcore.DebugLevel) }
func (l *zapHCLog) IsInfo() bool  { return l.z.Core().Enabled(zapcore.InfoLevel) }
func (l *zapHCLog) IsWarn() bool  { return l.z.Core().Enabled(zapcore.WarnLevel) }
func (l *zapHCLog) IsError() bool { return l.z.Core().Enabled(zapcore.ErrorLevel) }

func (l *zapHCLog) ImpliedArgs() []interface{} { return l.implied }

func (l *zapHCLog) With(args ...interface{}) hclog.Logger {
	return &zapHCLog{z: l.z, name: l.name, implied: append(append([]interface{}{}, l.implied...), args...)}
}

func (l *zapHCLog) Name() string { return l.name }

func (l *zapHCLog) Named(name string) hclog.Logger {
	full := name
	if l.name != "" {
		full = l.name + "." + name
	}
	return &zapHCLog{z: l.z.Named(name), name: full, implied: l.implied}
}

func (l *zapHCLog) ResetNamed(name string) hclog.Logger {
	return &zapHCLog{z: l.z.Named(name), name: name, implied: l.implied}
}

// SetLevel is a no-op: the zap core owns the level.
func (l *zapHCLog) SetLevel(hclog.Level) {}

// GetLevel reports the zap core's level; go-plugin skips parsing plugin
// lines below it.
func (l *zapHCLog) GetLevel() hclog.Level {
	switch {
	case l.IsTrace():
		return hclog.Trace
	case l.IsInfo():
		return hclog.Info
	case l.IsWarn():
		return hclog.Warn
	case l.IsError():
		return hclog.Error
	}
	return hclog.Off
}

func (l *zapHCLog) StandardLogger(*hclog.StandardLoggerOptions) *log.Logger {
	return zap.NewStdLog(l.z)
}

func (l *zapHCLog) StandardWriter(*hclog.StandardLoggerOptions) io.Writer {
	return zap.NewStdLog(l.z).Writer()
}

// maxLine bounds the bytes lineLogger holds while waiting for a newline.
const maxLine = 64 << 10

// lineLogger logs each line written to it at warn level: it receives what
// the plugin prints on stdout or stderr outside its hclog logger.
type lineLogger struct {
	z   *zap.Logger
	mu  sync.Mutex
	buf []byte
}

func (w *lineLogger) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		w.z.Warn("layout plugin output", zap.ByteString("line", bytes.TrimRight(w.buf[:i], "\r")))
		w.buf = w.buf[i+1:]
	}
	if len(w.buf) > maxLine { // a runaway line: log what we have
		w.z.Warn("layout plugin output", zap.ByteString("line", w.buf))
		w.buf = nil
	}
	return len(p), nil
}
