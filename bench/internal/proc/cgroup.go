package proc

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// CgroupPeriod is the capped cgroup's CFS period, the kernel's default.
const CgroupPeriod = 100 * time.Millisecond

// CPUCgroup is a cgroup whose CPU is capped at a fraction of one CPU, for
// timing a cold start the way a small function sees it.
type CPUCgroup struct {
	Dir   string // where cgroup.procs is
	Close func()
}

// NewCPUCgroup makes the cgroup: cgroup v2's cpu.max where the cpu
// controller is there, else cgroup v1's cpu.cfs_quota_us. It needs root;
// the error says why it could not.
func NewCPUCgroup(name string, fraction float64) (*CPUCgroup, error) {
	period := int(CgroupPeriod / time.Microsecond)
	quota := int(fraction * float64(period))
	if ctrl, err := os.ReadFile("/sys/fs/cgroup/cgroup.controllers"); err == nil && strings.Contains(string(ctrl), "cpu") {
		dir := filepath.Join("/sys/fs/cgroup", name)
		if err := os.Mkdir(dir, 0o755); err != nil {
			return nil, fmt.Errorf("cgroup v2: %w", err)
		}
		if err := os.WriteFile(filepath.Join(dir, "cpu.max"), fmt.Appendf(nil, "%d %d", quota, period), 0o644); err != nil {
			os.Remove(dir)
			return nil, fmt.Errorf("cgroup v2 cpu.max: %w", err)
		}
		return &CPUCgroup{Dir: dir, Close: func() { os.Remove(dir) }}, nil
	}
	base := "/sys/fs/cgroup/cpu"
	if _, err := os.Stat(filepath.Join(base, "cpu.cfs_quota_us")); err != nil {
		return nil, errors.New("no cgroup cpu controller (neither cgroup v2 cpu.max nor v1 cpu.cfs_quota_us) is mounted")
	}
	dir := filepath.Join(base, name)
	if err := os.Mkdir(dir, 0o755); err != nil {
		return nil, fmt.Errorf("cgroup v1: %w", err)
	}
	for file, v := range map[string]int{"cpu.cfs_period_us": period, "cpu.cfs_quota_us": quota} {
		if err := os.WriteFile(filepath.Join(dir, file), []byte(strconv.Itoa(v)), 0o644); err != nil {
			os.Remove(dir)
			return nil, fmt.Errorf("cgroup v1 %s: %w", file, err)
		}
	}
	return &CPUCgroup{Dir: dir, Close: func() { os.Remove(dir) }}, nil
}

// Wrap is the command prefix that runs a program inside the cgroup: a
// shell moves itself in, then execs the program, so that nothing of the
// program runs outside the cap.
func (g *CPUCgroup) Wrap() []string {
	return []string{"/bin/sh", "-c", `echo $$ > "$0/cgroup.procs" && exec "$1"`, g.Dir}
}
