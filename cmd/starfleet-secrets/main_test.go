package main

import "testing"

func TestUserAgent(t *testing.T) {
	for version, want := range map[string]string{
		"v1.2.3":            "starfleet-secrets/v1.2.3",
		"v1.2.3-4-gabcdef0": "starfleet-secrets/v1.2.3-4-gabcdef0",
		"dev":               "starfleet-secrets/dev",
		"1.0 (beta)/x\r\né": "starfleet-secrets/1.0--beta--x---",
	} {
		if got := userAgent(version); got != want {
			t.Errorf("userAgent(%q) = %q, want %q", version, got, want)
		}
	}
}
