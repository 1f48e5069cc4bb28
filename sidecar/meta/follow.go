package meta

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"time"

	"go.uber.org/zap"
)

// follow brings one listed file up to date. It returns an error only when
// the connection can no longer be used; file problems go to s.fail.
func (s *session) follow(e Entry) error {
	if e.Status != StatusOK {
		s.fail(e.Name, &FileError{Name: e.Name, Reason: "master: " + e.Reason, Err: e.Status.Err()})
		return nil
	}
	if e.Size > s.c.opts.MaxFileSize {
		s.fail(e.Name, &FileError{Name: e.Name, Err: ErrTooLarge,
			Reason: fmt.Sprintf("%d bytes over the limit of %d", e.Size, s.c.opts.MaxFileSize)})
		return nil
	}
	local, err := hashLocal(filepath.Join(s.c.opts.Dir, e.Name), s.c.opts.MaxFileSize)
	if err == nil && local == e.Sum {
		s.res.Unchanged = append(s.res.Unchanged, e.Name)
		return nil
	}
	c, err := s.get(e.Name)
	if err != nil {
		return err
	}
	if c.Status != StatusOK {
		s.fail(e.Name, &FileError{Name: e.Name, Reason: "master: " + c.Reason, Err: c.Status.Err()})
		return nil
	}
	// A content whose hash does not match is this file's failure (nothing is
	// written); the framing was intact, so the connection stays usable.
	if sha256.Sum256(c.Data) != c.Sum {
		s.fail(e.Name, &FileError{Name: e.Name, Reason: "content does not match its sha256", Err: ErrChecksum})
		return nil
	}
	if err := writeAtomic(s.c.opts.Dir, e.Name, c.Data); err != nil {
		s.fail(e.Name, &FileError{Name: e.Name, Reason: err.Error(), Err: err})
		return nil
	}
	s.c.log.Info("meta file updated", zap.String("file", e.Name), zap.Int("size", len(c.Data)))
	s.res.Updated = append(s.res.Updated, e.Name)
	return nil
}

// get fetches one file.
func (s *session) get(name string) (Content, error) {
	_ = s.conn.SetDeadline(time.Now().Add(ioTimeout))
	if err := writeFrame(s.conn, typeGet, EncodeGet(name, s.c.opts.MaxFileSize)); err != nil {
		return Content{}, fmt.Errorf("send get %s: %w", name, err)
	}
	p, err := s.response(typeContent, contentOverhead+int(s.c.opts.MaxFileSize))
	if err != nil {
		return Content{}, fmt.Errorf("get %s: %w", name, err)
	}
	c, err := DecodeContent(p)
	if err != nil {
		return Content{}, fmt.Errorf("get %s: %w", name, err)
	}
	if c.Name != name {
		return Content{}, fmt.Errorf("get %s: answer for %q: %w", name, c.Name, ErrProtocol)
	}
	return c, nil
}

// deleteVanished removes, with Delete, the local included files the
// master no longer lists.
func (c *Client) deleteVanished(seen map[string]bool, res *Result) error {
	if !c.opts.Delete {
		return nil
	}
	names, err := c.localNames()
	if err != nil {
		return err
	}
	for _, name := range names {
		if seen[name] {
			continue
		}
		if err := removeDurable(c.opts.Dir, name); err != nil {
			c.log.Warn("meta file not removed", zap.String("file", name), zap.Error(err))
			res.Failed[name] = err.Error()
			continue
		}
		c.log.Info("meta file removed: gone on the master", zap.String("file", name))
		res.Deleted = append(res.Deleted, name)
	}
	return nil
}

// localNames lists the local included regular files and symlinks, sorted;
// directories and other special files are never removed.
func (c *Client) localNames() ([]string, error) {
	ents, err := os.ReadDir(c.opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("read dir %s: %w", c.opts.Dir, err)
	}
	var names []string
	for _, d := range ents {
		t := d.Type()
		if c.inc.match(d.Name()) && (t.IsRegular() || t&fs.ModeSymlink != 0) {
			names = append(names, d.Name())
		}
	}
	sort.Strings(names)
	return names, nil
}

// removeStaleTemps removes this client's temporary files left by a crash.
// Rounds are serialized, so none of them belongs to a live round.
func (c *Client) removeStaleTemps() {
	ents, err := os.ReadDir(c.opts.Dir)
	if err != nil {
		return
	}
	for _, d := range ents {
		m := tmpName.FindStringSubmatch(d.Name())
		if m == nil || !d.Type().IsRegular() || !c.inc.match(m[1]) {
			continue
		}
		if err := os.Remove(filepath.Join(c.opts.Dir, d.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
			c.log.Warn("meta temp file not removed", zap.String("file", d.Name()), zap.Error(err))
		}
	}
}
