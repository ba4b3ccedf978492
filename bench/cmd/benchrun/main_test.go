package main

import "testing"

func TestShellQuote(t *testing.T) {
	if got := shellQuote("go", "test", "-run", "^(A|B)$", "./cache"); got != "go test -run '^(A|B)$' ./cache" {
		t.Errorf("shellQuote = %s", got)
	}
}
