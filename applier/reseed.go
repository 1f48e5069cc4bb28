package applier

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hasidecar/hasidecar/plugins/fsio"
)

// AsidePrefix starts the name of every directory MoveAside creates in the
// state directory.
const AsidePrefix = "aside-"

// asideNote is the file MoveAside writes beside the moved files, saying
// where they came from and why, for the operator who finds them later.
const asideNote = "ASIDE.txt"

// MoveAside moves every entry of the segment directory dir and the applier
// checkpoint and journal of stateDir into a new directory
// stateDir/aside-<UTC time>-<reason>/ and returns its path. After it, dir is
// empty and stateDir holds no checkpoint, so the next Open starts an empty
// replica (a reseed) while the old bytes stay on disk for an operator to
// inspect or delete: a reseed or a divergence never deletes data.
//
// Moves are renames, so stateDir must be on dir's filesystem (the default
// DIR.hasidecar beside DIR is); across filesystems MoveAside fails with
// EXDEV before moving anything. It refuses with ErrBusy while an Applier
// holds stateDir, and with ErrBadOptions when stateDir lies inside dir.
// reason is reduced to [A-Za-z0-9_-] for the directory name. Entries, the
// checkpoint and the new directory are made durable with directory fsyncs.
func MoveAside(dir, stateDir, reason string) (string, error) {
	if err := checkAsideDirs(dir, stateDir); err != nil {
		return "", fmt.Errorf("move aside %s: %w", dir, err)
	}
	if err := os.MkdirAll(stateDir, 0o755); err != nil {
		return "", fmt.Errorf("move aside: create state directory %s: %w", stateDir, err)
	}
	lock, err := lockState(fsio.OS(), stateDir)
	if err != nil {
		return "", fmt.Errorf("move aside %s: %w", dir, err)
	}
	defer lock.Close() // releases the flock: an Applier may open stateDir afterwards
	names, err := asideEntries(dir)
	if err != nil {
		return "", fmt.Errorf("move aside %s: %w", dir, err)
	}
	aside, err := makeAsideDir(stateDir, reason, time.Now())
	if err != nil {
		return "", fmt.Errorf("move aside %s: %w", dir, err)
	}
	if err := writeAsideNote(aside, dir, reason, names); err != nil {
		return aside, fmt.Errorf("move aside %s: %w", dir, err)
	}
	if err := moveEntries(dir, aside, names); err != nil {
		return aside, fmt.Errorf("move aside %s: %w", dir, err)
	}
	if err := moveCheckpoint(stateDir, aside); err != nil {
		return aside, fmt.Errorf("move aside %s: %w", dir, err)
	}
	for _, d := range []string{aside, dir, stateDir} {
		if err := syncDirIfExists(d); err != nil {
			return aside, fmt.Errorf("move aside %s: %w", dir, err)
		}
	}
	return aside, nil
}

// checkAsideDirs refuses a state directory inside the segment directory:
// moving dir's entries would then move the destination into itself.
func checkAsideDirs(dir, stateDir string) error {
	if dir == "" || stateDir == "" {
		return fmt.Errorf("empty directory name: %w", ErrBadOptions)
	}
	d, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("resolve %s: %w", dir, err)
	}
	s, err := filepath.Abs(stateDir)
	if err != nil {
		return fmt.Errorf("resolve %s: %w", stateDir, err)
	}
	if rel, err := filepath.Rel(d, s); err == nil && (rel == "." || (rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)))) {
		return fmt.Errorf("state directory %s is inside the segment directory %s: %w", stateDir, dir, ErrBadOptions)
	}
	return nil
}

// asideEntries lists dir's entries; a missing dir holds nothing. The
// checkpoint's name among them would collide with the moved checkpoint.
func asideEntries(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", dir, err)
	}
	names := make([]string, 0, len(ents))
	for _, e := range ents {
		if e.Name() == CheckpointName || e.Name() == JournalName || e.Name() == asideNote {
			return nil, fmt.Errorf("segment directory holds a file named %s: %w", e.Name(), ErrBadOptions)
		}
		names = append(names, e.Name())
	}
	return names, nil
}

// makeAsideDir creates a fresh aside directory; a name already taken (two
// calls in one nanosecond tick, or a clock that went back) gets a suffix.
func makeAsideDir(stateDir, reason string, now time.Time) (string, error) {
	return makeFreshDir(filepath.Join(stateDir, AsidePrefix+now.UTC().Format("20060102T150405.000000000Z")+"-"+cleanReason(reason)), "aside")
}

// makeFreshDir creates base, or base.1, base.2, ... when it is taken; what
// names the directory in an error ("aside", "cut").
func makeFreshDir(base, what string) (string, error) {
	p := base
	for i := 1; ; i++ {
		err := os.Mkdir(p, 0o755)
		if err == nil {
			return p, nil
		}
		if !errors.Is(err, fs.ErrExist) || i > 100 {
			return "", fmt.Errorf("create %s directory %s: %w", what, p, err)
		}
		p = fmt.Sprintf("%s.%d", base, i)
	}
}

// cleanReason keeps a reason usable as part of a file name.
func cleanReason(reason string) string {
	var b strings.Builder
	for _, r := range reason {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
		if b.Len() >= 64 {
			break
		}
	}
	if b.Len() == 0 {
		return "unspecified"
	}
	return b.String()
}

func writeAsideNote(aside, dir, reason string, names []string) error {
	note := fmt.Sprintf("moved aside by hasidecar at %s\nreason: %s\nsegment directory: %s\nentries: %d (and the applier checkpoint, if there was one)\n",
		time.Now().UTC().Format(time.RFC3339Nano), reason, dir, len(names))
	p := filepath.Join(aside, asideNote)
	if err := os.WriteFile(p, []byte(note), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", p, err)
	}
	return nil
}

// moveEntries renames each entry of dir into aside. A rename across
// filesystems fails with EXDEV on the first entry, before anything moved.
func moveEntries(dir, aside string, names []string) error {
	for _, n := range names {
		from, to := filepath.Join(dir, n), filepath.Join(aside, n)
		if err := os.Rename(from, to); err != nil {
			if errors.Is(err, unix.EXDEV) {
				return fmt.Errorf("rename %s: the state directory must be on the segment directory's filesystem: %w", from, err)
			}
			return fmt.Errorf("rename %s: %w", from, err)
		}
	}
	return nil
}

// moveCheckpoint moves the checkpoint (and a leftover temporary one) so the
// next Open finds none and starts empty, and the journal, which belongs to
// the moved segments.
func moveCheckpoint(stateDir, aside string) error {
	for _, n := range []string{CheckpointName, CheckpointName + ".tmp", JournalName} {
		err := os.Rename(filepath.Join(stateDir, n), filepath.Join(aside, n))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("move checkpoint %s: %w", n, err)
		}
	}
	return nil
}

func syncDirIfExists(dir string) error {
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return fsio.OS().SyncDir(dir)
}
