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
	readAttempts = 6
	readPause    = 10 * time.Millisecond
)

// settleTime is how long a file must have been left alone before its
// content is trusted. Stat checks catch a change during the read, but not a
// rewrite that is merely paused: a writer that truncates and then writes
// leaves a short window in which an empty or partial file looks stable.
// Kernel timestamps are coarse (one tick, up to 10 ms), so this is several
// ticks. A timestamp further in the future than this (clock stepped back)
// is not waited for.
const settleTime = 100 * time.Millisecond

// errUnsettled means one read attempt saw the file change; it is retried.
var errUnsettled = errors.New("meta: file changed while read")

// snapshot is what must not change while a file is read.
type snapshot struct {
	size, mtimeNs, ctimeNs int64
	ino, dev               uint64
}

// age is how long ago the file last changed (content or inode).
func (s snapshot) age(now time.Time) time.Duration {
	return now.Sub(time.Unix(0, max(s.mtimeNs, s.ctimeNs)))
}

// recent reports a change within settleTime of now, either way.
func (s snapshot) recent(now time.Time) bool {
	a := s.age(now)
	return a > -settleTime && a < settleTime
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
// it retries a read that saw the file change, or that came within
// settleTime of the file's last change, and gives up with ErrUnstable. A
// vanished file is retried too: writers such as RocketMQ's delete the old
// file before renaming the new one into place.
func readStable(ctx context.Context, root *os.Root, name string, limit int64) (fileRead, error) {
	pause := readPause
	for attempt := 1; ; attempt++ {
		r, err := readOnce(root, name, limit)
		if !errors.Is(err, errUnsettled) && !errors.Is(err, ErrVanished) {
			return r, err
		}
		if attempt == readAttempts {
			if errors.Is(err, ErrVanished) {
				return fileRead{}, err
			}
			return fileRead{}, fmt.Errorf("read %s: still changing after %d reads: %w", name, attempt, ErrUnstable)
		}
		// A read refused only for being recent waits out the rest of the
		// quiet period at once instead of spending attempts on it.
		wait := pause
		if r.snap.recent(time.Now()) {
			wait = max(wait, settleTime-r.snap.age(time.Now())+time.Millisecond)
		}
		if err := sleepCtx(ctx, wait); err != nil {
			return fileRead{}, fmt.Errorf("read %s: %w", name, err)
		}
		pause *= 2
	}
}

// sleepCtx waits d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// readOnce reads the file once and checks, by a second stat of the open
// file, a stat of the name and a second hashing read, that it did not change.
func readOnce(root *os.Root, name string, limit int64) (fileRead, error) {
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
	if before.size > limit {
		return fileRead{}, fmt.Errorf("read %s: %d bytes over %d: %w", name, before.size, limit, ErrTooLarge)
	}
	data, err := io.ReadAll(io.NewSectionReader(f, 0, limit+1))
	if err != nil {
		return fileRead{}, fmt.Errorf("read %s: %w: %w", name, err, ErrUnreadable)
	}
	if int64(len(data)) > limit {
		return fileRead{}, fmt.Errorf("read %s: grew over %d bytes: %w", name, limit, ErrTooLarge)
	}
	r := fileRead{data: data, sum: sha256.Sum256(data), snap: before}
	return r, settled(root, f, name, r, limit)
}

// settled returns errUnsettled unless the open file and the name still
// describe what was read and a second read hashes the same.
func settled(root *os.Root, f *os.File, name string, r fileRead, limit int64) error {
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
	if _, err := io.Copy(h, io.NewSectionReader(f, 0, limit+1)); err != nil {
		return fmt.Errorf("reread %s: %w: %w", name, err, ErrUnreadable)
	}
	if [sha256.Size]byte(h.Sum(nil)) != r.sum {
		return errUnsettled
	}
	// Checked last, on the final snapshot: a file left alone for
	// settleTime is not in the middle of a paused rewrite.
	if r.snap.recent(time.Now()) {
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
