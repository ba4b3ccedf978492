package upstream

import "testing"

func TestSessionName(t *testing.T) {
	if got := sessionNameFor("github sync/worker"); got != "starfleet-secrets-github-sync-worker" {
		t.Errorf("session name %q", got)
	}
	if got := sessionNameFor(string(make([]byte, 100))); len(got) != 64 {
		t.Errorf("session name of %d characters, want 64", len(got))
	}
}
