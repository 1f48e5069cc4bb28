package onlineverify

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// RepairLogName is the repairs log's file name in the state directory.
const RepairLogName = "repairs.log"

// repairRecord is one line of the repairs log (doc.go).
type repairRecord struct {
	Time       string `json:"time"`
	Segment    string `json:"segment"`
	Offset     int64  `json:"offset"`
	Length     int64  `json:"length"`
	FileOffset int64  `json:"file_offset"`
	OldCRC     uint32 `json:"old_crc"`
	CRC        uint32 `json:"crc"`
	MasterEnd  int64  `json:"master_end"`
}

// repairLog appends records to the log, creating it (and its directory)
// on the first one, so that a run with nothing to repair writes nothing.
type repairLog struct {
	path string
	f    *os.File
}

func (l *repairLog) append(rec repairRecord) error {
	if l.f == nil {
		if err := l.open(); err != nil {
			return err
		}
	}
	rec.Time = time.Now().UTC().Format(time.RFC3339Nano)
	b, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("repairs log: %w", err)
	}
	if _, err := l.f.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("repairs log %s: %w", l.path, err)
	}
	if err := l.f.Sync(); err != nil {
		return fmt.Errorf("repairs log %s: fsync: %w", l.path, err)
	}
	return nil
}

// open creates the log if needed and fsyncs its directory, so that the
// file itself survives a crash right after the first record.
func (l *repairLog) open() error {
	dir := filepath.Dir(l.path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("repairs log directory: %w", err)
	}
	f, err := os.OpenFile(l.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("repairs log: %w", err)
	}
	d, err := os.Open(dir)
	if err == nil {
		err = d.Sync()
		d.Close()
	}
	if err != nil {
		f.Close()
		return fmt.Errorf("repairs log: fsync %s: %w", dir, err)
	}
	l.f = f
	return nil
}

func (l *repairLog) close() {
	if l.f != nil {
		l.f.Close()
	}
}
