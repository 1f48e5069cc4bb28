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

// settleWait is how long until a recent change is settleTime old; 0 if
// it is not recent. A read refused for being recent waits that out at once
// instead of spending attempts on it.
func (s snapshot) settleWait(now time.Time) time.Duration {
	if !s.recent(now) {
		return 0
	}
	return settleTime - s.age(now) + time.Millisecond
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

// readStable reads name from root so that it never returns a torn file;
// see readMany.
func readStable(ctx context.Context, root *os.Root, name string, limit int64) (fileRead, error) {
	rs, errs := readMany(ctx, root, []string{name}, limit, true)
	return rs[0], errs[0]
}

// readMany reads each name so that it never returns a torn file: a read
// that saw the file change, or came within settleTime of its last change,
// is retried, and after readAttempts it fails with ErrUnstable. A vanished
// file is retried too: writers such as RocketMQ's delete the old file
// before renaming the new one into place. Files are retried together, so a
// directory of busy files costs one retry schedule (about half a second),
// not one per file. Without keep, the data is dropped after hashing.
func readMany(ctx context.Context, root *os.Root, names []string, limit int64, keep bool) ([]fileRead, []error) {
	rs, errs := make([]fileRead, len(names)), make([]error, len(names))
	pending := make([]int, len(names))
	for i := range pending {
		pending[i] = i
	}
	pause := readPause
	for attempt := 1; ; attempt++ {
		wait := pause
		next := pending[:0]
		for _, i := range pending {
			rs[i], errs[i] = readOnce(root, names[i], limit)
			if !keep {
				rs[i].data = nil
			}
			if errors.Is(errs[i], errUnsettled) || errors.Is(errs[i], ErrVanished) {
				next = append(next, i)
				wait = max(wait, rs[i].snap.settleWait(time.Now()))
			}
		}
		if pending = next; len(pending) == 0 {
			return rs, errs
		}
		if attempt == readAttempts {
			giveUp(rs, errs, names, pending, attempt)
			return rs, errs
		}
		if err := sleepCtx(ctx, wait); err != nil {
			for _, i := range pending {
				rs[i], errs[i] = fileRead{}, fmt.Errorf("read %s: %w", names[i], err)
			}
			return rs, errs
		}
		pause *= 2
	}
}

// giveUp turns the reads still pending after the last attempt into errors.
func giveUp(rs []fileRead, errs []error, names []string, pending []int, attempts int) {
	for _, i := range pending {
		rs[i] = fileRead{}
		if !errors.Is(errs[i], ErrVanished) {
			errs[i] = fmt.Errorf("read %s: still changing after %d reads: %w", names[i], attempts, ErrUnstable)
		}
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
