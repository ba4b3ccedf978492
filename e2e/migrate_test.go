package e2e

// The migration commands, starfleet-secrets split and join, as a person
// runs them: the real binary against moto.

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/starfleet/starfleet-secrets/upstream/upstreamtest"
)

// TestSplitAndJoinCommands: split then join round-trips the Starfleet
// secret byte for byte, says per slice what it did and never a value, a
// second split changes nothing, and bad usage exits 2 with the usage.
func TestSplitAndJoinCommands(t *testing.T) {
	t.Parallel()
	bin := binaryPath(t)
	// Names of this test's own: other tests share the emulator.
	createSecret(t, "MigrateStarfleet", starfleetSecret)
	env := cleanEnv(upstreamtest.Env(e2e.moto.URL())...)
	run := func(args ...string) (string, string, int) {
		t.Helper()
		return runCmd(t, t.TempDir(), env, append([]string{bin}, args...)...)
	}
	check := func(stdout, stderr string, code int, want ...string) {
		t.Helper()
		if code != 0 {
			t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
		}
		if got := strings.Split(strings.TrimSpace(stdout), "\n"); strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("output\n%s\nwant\n%s", stdout, strings.Join(want, "\n"))
		}
		for _, marker := range []string{"xoxb-e2e-slack", "ORG-A", "BEGIN RSA"} {
			if strings.Contains(stdout+stderr, marker) {
				t.Errorf("the output holds %q", marker)
			}
		}
	}
	stdout, stderr, code := run("split", "--from", "MigrateStarfleet", "--prefix", "MigrateStarfleet/")
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if code != 0 || len(lines) < 3 || lines[len(lines)-1] != "(layout) -> MigrateStarfleet/: created" {
		t.Fatalf("split: exit %d\n%s%s", code, stdout, stderr)
	}
	unchanged := make([]string, len(lines))
	for i, l := range lines {
		unchanged[i] = strings.Replace(l, ": created", ": unchanged", 1)
	}
	stdout, stderr, code = run("split", "--from", "MigrateStarfleet", "--prefix", "MigrateStarfleet/")
	check(stdout, stderr, code, unchanged...)

	stdout, stderr, code = run("join", "--prefix", "MigrateStarfleet/", "--to", "MigrateStarfleet-joined")
	if code != 0 || !strings.HasSuffix(strings.TrimSpace(stdout), "slices -> MigrateStarfleet-joined: created") {
		t.Fatalf("join: exit %d\n%s%s", code, stdout, stderr)
	}
	joined, err := sm().GetSecretValue(t.Context(), &secretsmanager.GetSecretValueInput{SecretId: aws.String("MigrateStarfleet-joined")})
	if err != nil || aws.ToString(joined.SecretString) != starfleetSecret {
		t.Errorf("split then join does not give the secret back byte for byte (%v)", err)
	}

	for _, args := range [][]string{{"split"}, {"split", "--prefix", "P/"}, {"join", "--prefix", "P/"}, {"split", "--from", "x", "--prefix", "P/", "extra"}, {"join", "--bogus"}} {
		stdout, stderr, code := run(args...)
		if code != 2 || stdout != "" || !strings.Contains(stderr, "Usage of starfleet-secrets") {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want 2 and the usage", args, code, stdout, stderr)
		}
	}
	if _, stderr, code := run("split", "--from", "MigrateMissing", "--prefix", "P/"); code != 1 || !strings.Contains(stderr, "ResourceNotFoundException") {
		t.Errorf("a missing secret: exit %d, %s", code, stderr)
	}
}
