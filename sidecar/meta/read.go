package meta

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
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

// errUnsettled means one read attempt could not trust what it read (the
// file changed, changed too recently, or failed validation); it is retried.
var errUnsettled = errors.New("meta: not settled")

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

// reader reads files of one directory so that they never arrive torn.
type reader struct {
	root     *os.Root
	limit    int64
	validate func(name string, data []byte) error
}

// readStable reads one file; see readMany.
func (rd reader) readStable(ctx context.Context, name string) (fileRead, error) {
	rs, errs := rd.readMany(ctx, []string{name}, true)
	return rs[0], errs[0]
}

// readMany reads each name so that it never returns a torn file: a read
// that saw the file change, came within settleTime of its last change, or
// whose content fails validation, is retried, and after readAttempts it
// fails with ErrUnstable. A vanished file is retried too: writers such as
// RocketMQ's delete the old file before renaming the new one into place.
// Files are retried together, so a directory of busy files costs one retry
// schedule (about half a second), not one per file. Without keep, the data
// is dropped after hashing.
func (rd reader) readMany(ctx context.Context, names []string, keep bool) ([]fileRead, []error) {
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
			rs[i], errs[i] = rd.readOnce(names[i])
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
			giveUp(rs, errs, pending, attempt)
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

// giveUp turns the reads still pending after the last attempt into errors
// that keep the last reason.
func giveUp(rs []fileRead, errs []error, pending []int, attempts int) {
	for _, i := range pending {
		rs[i] = fileRead{}
		if !errors.Is(errs[i], ErrVanished) {
			errs[i] = fmt.Errorf("%w, %d attempts: %w", errs[i], attempts, ErrUnstable)
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
func (rd reader) readOnce(name string) (fileRead, error) {
	// O_NONBLOCK: opening a FIFO for reading would otherwise block until a
	// writer appears. It changes nothing for regular files.
	f, err := rd.root.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
	if err != nil {
		return fileRead{}, openError(rd.root, name, err)
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
	if before.size > rd.limit {
		return fileRead{}, fmt.Errorf("read %s: %d bytes over %d: %w", name, before.size, rd.limit, ErrTooLarge)
	}
	data, err := io.ReadAll(io.NewSectionReader(f, 0, rd.limit+1))
	if err != nil {
		return fileRead{}, fmt.Errorf("read %s: %w: %w", name, err, ErrUnreadable)
	}
	if int64(len(data)) > rd.limit {
		return fileRead{}, fmt.Errorf("read %s: grew over %d bytes: %w", name, rd.limit, ErrTooLarge)
	}
	r := fileRead{data: data, sum: sha256.Sum256(data), snap: before}
	if err := rd.settled(f, name, r); err != nil {
		return r, err
	}
	if err := rd.validate(name, data); err != nil {
		return r, fmt.Errorf("read %s: %w: %w", name, err, errUnsettled)
	}
	return r, nil
}

// settled returns errUnsettled unless the open file and the name still
// describe what was read, a second read hashes the same, and the file was
// left alone for settleTime.
func (rd reader) settled(f *os.File, name string, r fileRead) error {
	if int64(len(r.data)) != r.snap.size {
		return fmt.Errorf("read %s: %d bytes of %d: %w", name, len(r.data), r.snap.size, errUnsettled)
	}
	fi, err := f.Stat()
	if err != nil || snap(fi) != r.snap {
		return fmt.Errorf("read %s: changed while read: %w", name, errUnsettled)
	}
	// A rename over the name leaves the open file intact but stale.
	fi, err = rd.root.Stat(name)
	if err != nil || snap(fi) != r.snap {
		return fmt.Errorf("read %s: replaced while read: %w", name, errUnsettled)
	}
	h := sha256.New()
	if _, err := io.Copy(h, io.NewSectionReader(f, 0, rd.limit+1)); err != nil {
		return fmt.Errorf("reread %s: %w: %w", name, err, ErrUnreadable)
	}
	if [sha256.Size]byte(h.Sum(nil)) != r.sum {
		return fmt.Errorf("read %s: content changed between two reads: %w", name, errUnsettled)
	}
	// Checked last, on the final snapshot: a file left alone for
	// settleTime is not in the middle of a paused rewrite.
	if r.snap.recent(time.Now()) {
		return fmt.Errorf("read %s: changed less than %v ago: %w", name, settleTime, errUnsettled)
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

// ValidateJSON is the default content check: a name ending in ".json" must
// hold one valid JSON document. A file caught between its truncation and
// the end of its rewrite is empty or cut short, which is never valid JSON;
// this catches the tears that timing checks cannot (a writer descheduled
// for longer than settleTime in the middle of a rewrite). Other names pass.
func ValidateJSON(name string, data []byte) error {
	if strings.HasSuffix(name, ".json") && !json.Valid(data) {
		return fmt.Errorf("not valid JSON (%d bytes)", len(data))
	}
	return nil
}
