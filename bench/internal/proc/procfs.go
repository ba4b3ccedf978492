package proc

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Status reads a field of /proc/<pid>/status in bytes ("VmRSS", "VmHWM").
func Status(pid int, field string) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	return StatusField(string(b), field)
}

// StatusField reads a "Name: N kB" field, in bytes, of a /proc status file
// (/proc/<pid>/status, /proc/meminfo).
func StatusField(status, field string) (int64, error) {
	for line := range strings.Lines(status) {
		name, value, ok := strings.Cut(line, ":")
		if !ok || name != field {
			continue
		}
		f := strings.Fields(value)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("%s: unexpected %q", field, value)
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		return n * 1024, err
	}
	return 0, fmt.Errorf("no %s in /proc status", field)
}

// CPUTime is the user+system CPU time a process has used so far, in 10 ms
// ticks.
func CPUTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	return statCPU(string(b))
}

// ThreadsCPU is the CPU time every thread of a process has run so far, to
// the nanosecond: the sum of /proc/PID/task/*/schedstat's first field
// (utime and stime in /proc/PID/stat count 10 ms ticks, too coarse for a
// start-up).
func ThreadsCPU(pid int) (time.Duration, error) {
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/schedstat", pid))
	if err != nil || len(tasks) == 0 {
		return 0, fmt.Errorf("no schedstat for pid %d: %v", pid, err)
	}
	var total time.Duration
	for _, path := range tasks {
		b, err := os.ReadFile(path)
		if err != nil {
			continue // the thread ended meanwhile
		}
		f := strings.Fields(string(b))
		if len(f) == 0 {
			continue
		}
		ns, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("malformed %s", path)
		}
		total += time.Duration(ns)
	}
	return total, nil
}

// clockTick is USER_HZ, 100 on every Linux that Go supports.
const clockTick = 10 * time.Millisecond

func statCPU(stat string) (time.Duration, error) {
	// The command name, field 2, is in parentheses and may hold spaces.
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("malformed stat")
	}
	f := strings.Fields(stat[i+1:])
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("malformed stat")
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	s, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("malformed stat")
	}
	return time.Duration(u+s) * clockTick, nil
}

// ServerSockets counts the established server-side TCP sockets on port and
// how many of them still have unread request bytes, from /proc/net/tcp.
func ServerSockets(port int) (established, unread int, err error) {
	b, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		return 0, 0, err
	}
	return procNetTCP(string(b), port)
}

func procNetTCP(table string, port int) (established, unread int, err error) {
	want := fmt.Sprintf(":%04X", port)
	for line := range strings.Lines(table) {
		f := strings.Fields(line)
		if len(f) < 5 || f[0] == "sl" {
			continue
		}
		if !strings.HasSuffix(f[1], want) || f[3] != "01" { // 01: ESTABLISHED
			continue
		}
		established++
		_, rx, ok := strings.Cut(f[4], ":")
		if !ok {
			return 0, 0, fmt.Errorf("malformed queue %q", f[4])
		}
		if n, err := strconv.ParseUint(rx, 16, 64); err != nil {
			return 0, 0, err
		} else if n > 0 {
			unread++
		}
	}
	return established, unread, nil
}
