//go:build unix && !linux

package upstreamtest

import (
	"os/exec"
	"syscall"
)

// setProcAttrs puts moto in its own process group, so Close can kill it
// together with any children.
func setProcAttrs(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

func killGroup(cmd *exec.Cmd) error {
	return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
}
