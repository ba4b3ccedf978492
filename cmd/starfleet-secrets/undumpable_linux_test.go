package main

import (
	"syscall"
	"testing"
)

func dumpable(t testing.TB) uintptr {
	t.Helper()
	v, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, syscall.PR_GET_DUMPABLE, 0, 0)
	if errno != 0 {
		t.Fatal(errno)
	}
	return v
}

// TestMakeUndumpable clears this test process's flag, which costs it
// nothing but core dumps.
func TestMakeUndumpable(t *testing.T) {
	if err := makeUndumpable(); err != nil {
		t.Fatal(err)
	}
	if v := dumpable(t); v != 0 {
		t.Errorf("PR_GET_DUMPABLE = %d after makeUndumpable, want 0", v)
	}
}

// BenchmarkMakeUndumpable is its cost at start-up: one system call.
func BenchmarkMakeUndumpable(b *testing.B) {
	for b.Loop() {
		if err := makeUndumpable(); err != nil {
			b.Fatal(err)
		}
	}
}
