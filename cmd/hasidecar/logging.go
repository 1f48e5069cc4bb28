package main

import (
	"flag"
	"fmt"
	"io"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/hasidecar/hasidecar/sidecar/config"
)

// logFlags are the logging flags every long-running command takes.
type logFlags struct {
	level  string
	format string
}

func (l *logFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&l.level, "log-level", "info", "log level: debug, info, warn, error")
	fs.StringVar(&l.format, "log-format", "console", "log format: console or json")
}

func (l *logFlags) config() config.Log { return config.Log{Level: l.level, Format: l.format} }

// newLogger returns a zap logger writing to w, and the level so a reload
// can change it. cfg is valid (config.Log's rules).
func newLogger(cfg config.Log, w io.Writer) (*zap.Logger, zap.AtomicLevel, error) {
	lvl, err := zap.ParseAtomicLevel(cfg.Level)
	if err != nil {
		return nil, lvl, usageError{fmt.Errorf("--log-level %q: %w", cfg.Level, err)}
	}
	ecfg := zap.NewProductionEncoderConfig()
	ecfg.EncodeTime = zapcore.ISO8601TimeEncoder
	var enc zapcore.Encoder
	switch cfg.Format {
	case "json":
		enc = zapcore.NewJSONEncoder(ecfg)
	case "console":
		ecfg.EncodeLevel = zapcore.CapitalLevelEncoder
		enc = zapcore.NewConsoleEncoder(ecfg)
	default:
		return nil, lvl, usageError{fmt.Errorf("--log-format %q: want console or json", cfg.Format)}
	}
	core := zapcore.NewCore(enc, zapcore.AddSync(w), lvl)
	return zap.New(core), lvl, nil
}

// build returns the logger the flags describe (commands without a typed
// configuration: write, bench).
func (l *logFlags) build(w io.Writer) (*zap.Logger, zap.AtomicLevel, error) {
	return newLogger(l.config(), w)
}
