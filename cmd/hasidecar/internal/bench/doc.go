// Package bench is `hasidecar bench`: one run measures every figure of
// issue 14 and prints each next to a baseline measured in the same run,
// the ratio, the target and whether it is met (true only when
// the median meets it; a figure that could not be measured, or a zero
// baseline, never meets it). Master and slave run as child processes of
// the real binary; this process is the writer and runs the baselines.
//
// Measurements, one per file, each run Config.Runs times (figures are
// medians of the runs' values and baselines; the ratio is the median of
// each run's value over that run's own baseline):
//
//   - catchup.go: an empty slave catching up with Total bytes, against a
//     raw loopback copy of the same files (rawcopy.go: sendfile -> TCP ->
//     splice, page cache to page cache); master+slave CPU-seconds per GiB
//     against the raw copy's (getrusage of this process, both ends); the
//     same catch-up at --batch 1MiB against the default batch.
//   - tailing.go: a master alone with the writer idle, on 10 and on 10,000
//     sealed 64 KiB segments: its CPU over a window after its start-up
//     scan; the target is the many-segment cost within 1.5x of the few.
//   - idle.go: a caught-up master and slave (default settings, one 1 GiB
//     segment), their CPU together over a window, in % of one core.
//   - live.go: a 20 MB/s writer (a burst each millisecond): the master's
//     CPU; the lag of a record sampled every 5 ms, from its append to the
//     master's OK for a WAIT on its end (the ack socket's answer included);
//     then single records after a 50 ms pause, appended and WAITed for.
//   - sync.go: synchronous commits of 1 writer (p50, p99) against 8-byte
//     loopback TCP and Unix-socket ping-pongs (pingpong.go); WAITs of an
//     already-committed offset against the Unix ping-pong; 64 writers'
//     commits/s against one's.
//   - verify.go: `verify --online` (in this process, no rate limit) of a
//     copy of 2 GiB of matching segments (32 MiB with Quick) against a
//     master process's digests, against a plain read of the same bytes of
//     the same files with 1 MiB preads in this process, both from the page
//     cache; the verifier's and the master's CPU per GiB against the
//     read's.
//
// CPU time of a child is read from /proc (cpu.go): the sum of its
// threads' schedstat run time in nanoseconds, because utime+stime of
// /proc/<pid>/stat count 10 ms ticks, one tick of an idle 0.2% over five
// seconds; stat is the fallback. Windows start after a settle time and
// with the bench's status connection closed, so that bench itself does
// not wake the master.
//
// Output (output.go): a table, or with --json one object: date, CPUs,
// runs, quick, the measurements run, settings, and figures[] of
// {measurement, name, what, unit, value, baseline, baseline_what, ratio,
// target ("ratio <= 15", "value >= 20"), met, runs, baseline_runs}, with
// also_baseline/also_ratio where a second baseline is shown; numbers that
// are not finite are null. Quick (tests) shrinks sizes and windows: its
// figures are not comparable.
package bench
