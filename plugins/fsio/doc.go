// Package fsio is the file-system seam of the applier and the tailer: the
// few operations they perform on segment, checkpoint and journal files,
// behind two small interfaces, so that a test can put a wrapper between
// them and the disk (fsiotest injects EIO, ENOSPC, short and slow calls).
//
// # Contract
//
// OS() is the real file system: every method is one call of the os package
// or one system call (fdatasync, pwritev), with nothing added but the
// interface call, and errors exactly as the os package returns them
// (*fs.PathError wrapping a syscall.Errno), so callers match them with
// errors.Is. Implementations and wrappers must keep these rules:
//
//   - WriteAt is io.WriterAt: it returns n < len(p) only with an error.
//   - WriteV is one pwritev(2): it may write fewer bytes than given without
//     an error, as the kernel may (a device filling up, a signal); the
//     caller writes the rest and treats a zero count as io.ErrShortWrite.
//   - Datasync is fdatasync(2): the file's bytes and the metadata needed to
//     read them back (its size) are durable once it returns nil. After an
//     error nothing written since the last successful call is known to be
//     durable, even if a later call succeeds.
//   - Hot paths call the function WriteV(f, pieces, off) rather than the
//     method: on an OS file it is a direct call, so the caller's slice of
//     pieces does not escape to the heap through the interface call.
//   - SyncDir makes the names created, renamed or removed in a directory
//     durable.
//   - Fd is the descriptor, for flock(2); OSFile returns the *os.File under
//     a File (through wrappers that implement Unwrap() File) for mmap(2),
//     which stays outside the seam: a mapping's reads are memory accesses,
//     not calls that can fail one by one.
//
// Layouts (package plugins) open and scan segment files by path
// themselves; their reads are outside the seam.
package fsio
