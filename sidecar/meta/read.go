package meta

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
	"time"
)

// readAttempts and readPause bound how long a file that keeps changing is
// retried before it is reported unstable for this round.
const (
	readAttempts = 5
	readPause    = 5 * time.Millisecond
)

// errUnsettled means one read attempt saw the file change; it is retried.
var errUnsettled = errors.New("meta: file changed while read")

// snapshot is what must not change while a file is read.
type snapshot struct {
	size, mtimeNs, ctimeNs int64
	ino, dev               uint64
}

func snap(fi fs.FileInfo) snapshot {
	s := snapshot{size: fi.Size(), mtimeNs: fi.ModTime().UnixNano()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		s.ino, s.dev = st.Ino, uint64(st.Dev)
		s.ctimeNs = st.Ctim.Nano()
	}
	return s
}

// fileRead is a settled read of one file.
type fileRead struct {
	data []byte
	sum  [sha256.Size]byte
	snap snapshot
}

// readStable reads name from root so that it never returns a torn file:
// it retries a read that saw the file change and gives up with ErrUnstable.
// A vanished file is retried too: writers such as RocketMQ's delete the old
// file before renaming the new one into place.
func readStable(ctx context.Context, root *os.Root, name string, max int64) (fileRead, error) {
	pause := readPause
	for attempt := 1; ; attempt++ {
		r, err := readOnce(root, name, max)
		retry := errors.Is(err, errUnsettled) || errors.Is(err, ErrVanished)
		if !retry {
			return r, err
		}
		if attempt == readAttempts {
			if errors.Is(err, ErrVanished) {
				return fileRead{}, err
			}
			return fileRead{}, fmt.Errorf("read %s: changed during %d reads: %w", name, attempt, ErrUnstable)
		}
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return fileRead{}, fmt.Errorf("read %s: %w", name, ctx.Err())
		case <-t.C:
		}
		pause *= 2
	}
}

// readOnce reads the file once and checks, by a second stat of the open
// file, a stat of the name and a second hashing read, that it did not change.
func readOnce(root *os.Root, name string, max int64) (fileRead, error) {
	// O_NONBLOCK: opening a FIFO for reading would otherwise block until a
	// writer appears. It changes nothing for regular files.
	f, err := root.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
	if err != nil {
		return fileRead{}, openError(root, name, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fileRead{}, fmt.Errorf("stat %s: %w: %w", name, err, ErrUnreadable)
	}
	if !fi.Mode().IsRegular() {
		return fileRead{}, fmt.Errorf("read %s: not a regular file (%s): %w", name, fi.Mode().Type(), ErrUnreadable)
	}
	before := snap(fi)
	if before.size > max {
		return fileRead{}, fmt.Errorf("read %s: %d bytes over %d: %w", name, before.size, max, ErrTooLarge)
	}
	data, err := io.ReadAll(io.NewSectionReader(f, 0, max+1))
	if err != nil {
		return fileRead{}, fmt.Errorf("read %s: %w: %w", name, err, ErrUnreadable)
	}
	if int64(len(data)) > max {
		return fileRead{}, fmt.Errorf("read %s: grew over %d bytes: %w", name, max, ErrTooLarge)
	}
	r := fileRead{data: data, sum: sha256.Sum256(data), snap: before}
	return r, settled(root, f, name, r, max)
}

// settled returns errUnsettled unless the open file and the name still
// describe what was read and a second read hashes the same.
func settled(root *os.Root, f *os.File, name string, r fileRead, max int64) error {
	if int64(len(r.data)) != r.snap.size {
		return errUnsettled
	}
	fi, err := f.Stat()
	if err != nil || snap(fi) != r.snap {
		return errUnsettled
	}
	// A rename over the name leaves the open file intact but stale.
	fi, err = root.Stat(name)
	if err != nil || snap(fi) != r.snap {
		return errUnsettled
	}
	h := sha256.New()
	if _, err := io.Copy(h, io.NewSectionReader(f, 0, max+1)); err != nil {
		return fmt.Errorf("reread %s: %w: %w", name, err, ErrUnreadable)
	}
	if [sha256.Size]byte(h.Sum(nil)) != r.sum {
		return errUnsettled
	}
	return nil
}

// openError classifies a failed open: gone (vanished) or there but not
// openable (a dangling symlink, a symlink escaping the directory, a
// permission or I/O error).
func openError(root *os.Root, name string, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		if _, lerr := root.Lstat(name); errors.Is(lerr, fs.ErrNotExist) {
			return fmt.Errorf("open %s: %w", name, ErrVanished)
		}
		return fmt.Errorf("open %s: dangling symlink: %w", name, ErrUnreadable)
	}
	return fmt.Errorf("open %s: %w: %w", name, err, ErrUnreadable)
}
