package upstreamtest

import (
	"os/exec"
	"syscall"
)

// setProcAttrs puts moto in its own process group, so Close can kill it
// together with any children, and asks the kernel to kill it if the test
// binary dies without calling Close (e.g. on a test timeout panic).
func setProcAttrs(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

func killGroup(cmd *exec.Cmd) error {
	return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
}
