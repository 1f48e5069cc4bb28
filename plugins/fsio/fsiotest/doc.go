// Package fsiotest is test support for code that takes an fsio.FS, as
// net/http/httptest is for HTTP handlers: FS wraps a real file system (use
// fsio.OS() on files in t.TempDir()) and makes chosen calls fail, write
// short or run slow, so the failure paths of the applier and the tailer
// run against real files and real errors.
//
// A Fault selects calls by operation (Ops, a bit set), by path (a
// filepath.Match pattern on the whole path or its base name) and by count
// (from the Nth matching call, at most Times calls) or chance (Prob, drawn
// from the seed given to New, so a failing run can be replayed). Faults are
// injected and removed at run time from any goroutine; a call is decided by
// the first injected Fault that hits it, and every Fault that matches
// counts the call (Seen), so one with no effect is a probe that counts
// calls. A failing call returns *fs.PathError wrapping Fault.Err, to be
// matched with errors.Is like the real one. A call that fails does nothing
// to the file, except a Short write, which writes the first half of its
// bytes first (a device filling up mid-write).
package fsiotest
