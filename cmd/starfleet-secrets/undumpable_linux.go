package main

import "syscall"

// makeUndumpable clears the process's dumpable flag, before any secret is
// in memory: other processes of the same user can then neither read its
// memory (/proc/<pid>/mem), environment or file descriptors nor ptrace it,
// and it writes no core dump. The allow-list keeps a function from reading
// other slices through the extension; this keeps the function's own code,
// which runs as the same user, from reading them out of the extension.
func makeUndumpable() error {
	if _, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, syscall.PR_SET_DUMPABLE, 0, 0); errno != 0 {
		return errno
	}
	return nil
}
