package meta

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
)

// tmpName matches the client's own temporary files: "." + name + ".tmp-" +
// 16 hex digits.
var tmpName = regexp.MustCompile(`^\.(.+)\.tmp-[0-9a-f]{16}$`)

// writeAtomic replaces dir/name with data: a temporary file in the same
// directory, fsynced, renamed over the target, then the directory fsynced,
// so a reader sees the old file or the new one, and a crash leaves one of
// them on disk.
func writeAtomic(dir, name string, data []byte) error {
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	tmp := filepath.Join(dir, "."+name+".tmp-"+hex.EncodeToString(rnd[:]))
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("create temp %s: %w", tmp, err)
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(dir, name))
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("replace %s: %w", name, err)
	}
	return syncDir(dir)
}

// removeDurable removes dir/name and makes the removal durable.
func removeDurable(dir, name string) error {
	if err := os.Remove(filepath.Join(dir, name)); err != nil {
		return fmt.Errorf("remove %s: %w", name, err)
	}
	return syncDir(dir)
}

// syncDir fsyncs a directory so that renames and removals in it survive a crash.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync dir %s: %w", dir, err)
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sync dir %s: %w", dir, err)
	}
	return nil
}

// hashLocal hashes a local file, reading at most max+1 bytes: a file over
// the limit cannot equal any content the client accepts anyway. Anything
// but a regular file has the zero sum, which no content has.
func hashLocal(path string, max int64) ([sha256.Size]byte, error) {
	var sum [sha256.Size]byte
	fi, err := os.Lstat(path)
	if err != nil || !fi.Mode().IsRegular() {
		return sum, err
	}
	f, err := os.Open(path)
	if err != nil {
		return sum, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, io.LimitReader(f, max+1)); err != nil {
		return sum, err
	}
	return [sha256.Size]byte(h.Sum(nil)), nil
}
