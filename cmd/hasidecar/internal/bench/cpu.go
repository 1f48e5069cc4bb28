package bench

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// clockTick is the unit of utime and stime in /proc/<pid>/stat (USER_HZ,
// 100 on Linux).
const clockTick = 10 * time.Millisecond

// procCPU is the CPU time process pid has used so far (user + system).
// It is the sum of its threads' run time in /proc/<pid>/task/*/schedstat
// (nanoseconds) where the kernel has it: utime+stime of /proc/<pid>/stat
// count 10 ms ticks, too coarse for an idle process's 0.2% of a core over
// a few seconds (one tick). Without schedstat it falls back to the ticks.
func procCPU(pid int) (time.Duration, error) {
	if d, err := schedCPU(pid); err == nil {
		return d, nil
	}
	return statCPU(pid)
}

func schedCPU(pid int) (time.Duration, error) {
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/schedstat", pid))
	if err != nil || len(tasks) == 0 {
		return 0, fmt.Errorf("no schedstat for pid %d", pid)
	}
	var sum int64
	for _, p := range tasks {
		b, err := os.ReadFile(p)
		if err != nil {
			continue // a thread that ended between the glob and the read
		}
		f := strings.Fields(string(b))
		if len(f) == 0 {
			return 0, fmt.Errorf("%s: empty", p)
		}
		ns, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", p, err)
		}
		sum += ns
	}
	return time.Duration(sum), nil
}

// statCPU is utime+stime of /proc/<pid>/stat: fields 14 and 15, counted
// after the command name's closing parenthesis (the name may hold spaces).
func statCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	s, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: bad utime/stime", pid)
	}
	return time.Duration(u+s) * clockTick, nil
}

// selfCPU is this process's CPU time (the raw copy's baseline runs here).
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// cpuMeter reads the CPU time of a set of processes at the start and the
// end of a window.
type cpuMeter struct {
	pids  []int
	start []time.Duration
	t0    time.Time
}

func startCPU(pids ...int) (*cpuMeter, error) {
	m := &cpuMeter{pids: pids, t0: time.Now()}
	for _, p := range pids {
		d, err := procCPU(p)
		if err != nil {
			return nil, fmt.Errorf("read CPU time of pid %d: %w", p, err)
		}
		m.start = append(m.start, d)
	}
	return m, nil
}

// stop returns each process's CPU time used since start, and the wall time.
func (m *cpuMeter) stop() ([]time.Duration, time.Duration, error) {
	wall := time.Since(m.t0)
	var used []time.Duration
	for i, p := range m.pids {
		d, err := procCPU(p)
		if err != nil {
			return nil, 0, fmt.Errorf("read CPU time of pid %d: %w", p, err)
		}
		used = append(used, d-m.start[i])
	}
	return used, wall, nil
}

// percent of one core that cpu is over wall.
func percent(cpu, wall time.Duration) float64 { return 100 * cpu.Seconds() / wall.Seconds() }
