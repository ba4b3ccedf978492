package e2e

// What another process of the extension's user can read of it: nothing.
// A function's code runs as the same user as the extension; the allow-list
// keeps it from reading other slices through the extension, and the
// process's dumpable flag keeps it from reading them out of its memory.

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// nobody is the unprivileged user both processes run as.
const nobody = 65534

// TestOtherProcessesOfTheUserCannotReadTheExtension runs the binary as an
// unprivileged user and, as the same user, tries to read its memory,
// environment and open files, which it may for a plain process of that
// user (the control).
func TestOtherProcessesOfTheUserCannotReadTheExtension(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("needs root to run both processes as another user")
	}
	// Debian's interpreter: one under root's home is not the user's to run.
	python := "/usr/bin/python3"
	if _, err := os.Stat(python); err != nil {
		t.Fatalf("%s is required: %v", python, err)
	}
	// Both readable by that user: the race binary's own directory is not.
	dir, err := os.MkdirTemp("", "starfleet-memory-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "starfleet-secrets")
	if err := copyFile(binaryPath(t), bin); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "secret.json")
	writeFile(t, file, starfleetSecret)
	in := start(t, serving(file), withBinary(bin), asUser(nobody, nobody), withEnv("STARFLEET_SECRETS_MARKER=memory-test-marker"))

	control := exec.Command("sleep", "60")
	control.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
	control.Env = []string{"STARFLEET_SECRETS_MARKER=memory-test-marker"}
	if err := control.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { control.Process.Kill(); control.Wait() })

	// Reads /proc/<pid>/<what> as nobody; for mem, a page at the first
	// readable mapping, which only an allowed reader may open.
	const reader = `
import sys
pid, what = sys.argv[1], sys.argv[2]
try:
    if what == "mem":
        with open("/proc/%s/maps" % pid) as maps:  # refused too where mem is
            start = int(maps.readline().split("-")[0], 16)
        with open("/proc/%s/mem" % pid, "rb") as mem:
            mem.seek(start)
            mem.read(16)
    elif what == "fd":
        import os
        os.listdir("/proc/%s/fd" % pid)
    else:
        with open("/proc/%s/%s" % (pid, what), "rb") as f:
            f.read()
    print("read")
except PermissionError as e:
    print("refused")
`
	read := func(pid int, what string) string {
		cmd := exec.Command(python, "-c", reader, strconv.Itoa(pid), what)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("reading /proc/%d/%s: %v: %s", pid, what, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	for _, what := range []string{"mem", "environ", "fd"} {
		if got := read(control.Process.Pid, what); got != "read" {
			t.Errorf("control: /proc/<pid>/%s of a process of the same user: %s, want read (the test cannot tell otherwise)", what, got)
		}
		if got := read(in.cmd.Process.Pid, what); got != "refused" {
			t.Errorf("/proc/<pid>/%s of the extension, by another process of its user: %s, want refused", what, got)
		}
	}
	if a := in.get("GET", "/secret/GitHubSyncWorker"); a.status != 200 {
		t.Errorf("the extension stopped serving: %d", a.status)
	}
}
