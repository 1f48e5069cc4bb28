package role_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/hasidecar/hasidecar/plugins/rocketmq"
	"github.com/hasidecar/hasidecar/sidecar/config"
	"github.com/hasidecar/hasidecar/sidecar/role"
)

// An invalid reload applies nothing; a valid one applies the reloadable
// settings and the level.
func TestMasterReloadValidatesFirst(t *testing.T) {
	lvl := zap.NewAtomicLevel()
	m, err := role.NewMaster(zap.NewNop(), masterConfig(t.TempDir()), role.Options{Level: &lvl})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if m.Addr() == nil || m.Addr().String() == "127.0.0.1:0" {
		t.Fatalf("Addr %v: want the bound port", m.Addr())
	}
	bad := m.Config()
	bad.Log.Level, bad.Housekeeping = "debug", bad.Heartbeat/2 // housekeeping must exceed heartbeat
	if err := m.Reload(bad); !errors.Is(err, config.ErrInvalid) {
		t.Fatalf("invalid reload: %v, want config.ErrInvalid", err)
	}
	if lvl.Level() != zap.InfoLevel || m.Config().Housekeeping == bad.Housekeeping {
		t.Fatalf("an invalid reload applied something: level %v, housekeeping %v", lvl.Level(), m.Config().Housekeeping)
	}
	good := m.Config()
	good.Log.Level, good.Heartbeat, good.Listen = "debug", 2*time.Second, "127.0.0.1:1" // listen needs a restart
	if err := m.Reload(good); err != nil {
		t.Fatal(err)
	}
	if c := m.Config(); lvl.Level() != zap.DebugLevel || c.Heartbeat != 2*time.Second || c.Listen != "127.0.0.1:0" {
		t.Fatalf("after reload: level %v, heartbeat %v, listen %s", lvl.Level(), c.Heartbeat, c.Listen)
	}
}

// Segment files that contradict an explicit size refuse the master with
// ErrSizeMismatch and ErrLayout (cmd exits 78 on them).
func TestMasterRefusesContradictingSegments(t *testing.T) {
	dir := t.TempDir()
	w, err := rocketmq.OpenWriter(nil, dir, rocketmq.WriterOptions{SegmentSize: 2 * exampleSegment})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Append(&rocketmq.Message{Topic: "t", Body: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	w.Close()
	_, err = role.NewMaster(zap.NewNop(), masterConfig(dir), role.Options{})
	if !errors.Is(err, role.ErrSizeMismatch) || !errors.Is(err, role.ErrLayout) {
		t.Fatalf("NewMaster: %v, want ErrSizeMismatch and ErrLayout", err)
	}
}

// Close releases a slave that never ran: its directory can be opened again.
func TestSlaveCloseWithoutRun(t *testing.T) {
	base := t.TempDir()
	dir := filepath.Join(base, "s")
	for range 2 {
		s, err := role.NewSlave(zap.NewNop(), slaveConfig(dir, dir+".state", "127.0.0.1:1"), role.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(dir); err != nil {
		t.Fatal(err)
	}
	// The lineage store lives beside the checkpoint and was released too.
	if fi, err := os.Stat(filepath.Join(dir+".state", role.LineageDir)); err != nil || !fi.IsDir() {
		t.Fatalf("lineage directory: %v", err)
	}
}
