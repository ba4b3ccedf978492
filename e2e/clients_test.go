package e2e

// The client examples (Python, Node, Go) run against the real binary in
// local mode, with the failures a caller meets.

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestClientExamples(t *testing.T) {
	t.Parallel()
	python := need(t, "python3", "install Python 3")
	node := need(t, "node", "install Node.js 18 or newer")
	root := repoRoot(t)
	dir := t.TempDir()
	server := binaryPath(t)
	goClient := goBuild(t, dir, "github.com/starfleet/starfleet-secrets/examples/clients/go/starfleet-slice", "starfleet-slice")

	secretFile := filepath.Join(root, "testdata", "starfleet-secret.json")
	raw, err := os.ReadFile(secretFile)
	if err != nil {
		t.Fatal(err)
	}
	var want map[string]any
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	token := randomToken(t)
	port := strconv.Itoa(serveLocal(t, server, secretFile, token))
	closedPort := strconv.Itoa(freePort(t))
	pyDir := filepath.Join(root, "examples", "clients", "python")

	clients := []struct {
		name string
		argv []string
	}{
		{"python", []string{python, filepath.Join(pyDir, "starfleet_secrets.py")}},
		{"node", []string{node, filepath.Join(root, "examples", "clients", "node", "starfleet-secrets.js")}},
		{"go", []string{goClient}},
	}
	for _, c := range clients {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			run := func(env []string, slice string) (string, string, int) {
				return runCmd(t, dir, cleanEnv(env...), append(slices.Clone(c.argv), slice)...)
			}
			for _, tokenVar := range []string{"STARFLEET_SECRETS_TOKEN", "AWS_SESSION_TOKEN"} {
				for _, slice := range []string{"GitHubSyncWorker", "PlainSliceExample"} {
					stdout, stderr, code := run([]string{"STARFLEET_SECRETS_PORT=" + port, tokenVar + "=" + token}, slice)
					if code != 0 {
						t.Errorf("%s with %s: exit %d: %s", slice, tokenVar, code, stderr)
						continue
					}
					var got any
					if err := json.Unmarshal([]byte(stdout), &got); err != nil {
						t.Errorf("%s with %s: output is not JSON: %v\n%s", slice, tokenVar, err, stdout)
					} else if !reflect.DeepEqual(got, want[slice]) {
						t.Errorf("%s with %s: printed %v, want %v", slice, tokenVar, got, want[slice])
					}
				}
			}

			failures := []struct {
				what  string
				env   []string
				slice string
				want  string // in stderr
			}{
				{"missing slice", []string{"STARFLEET_SECRETS_PORT=" + port, "STARFLEET_SECRETS_TOKEN=" + token}, "NoSuchSlice", "NoSuchSlice"},
				{"wrong token", []string{"STARFLEET_SECRETS_PORT=" + port, "STARFLEET_SECRETS_TOKEN=not-" + token}, "STARFLEET", "InvalidToken"},
				{"no token", []string{"STARFLEET_SECRETS_PORT=" + port}, "STARFLEET", "no token"},
				{"nothing listening", []string{"STARFLEET_SECRETS_PORT=" + closedPort, "STARFLEET_SECRETS_TOKEN=" + token}, "STARFLEET", "refused"},
			}
			for _, f := range failures {
				start := time.Now()
				stdout, stderr, code := run(f.env, f.slice)
				took := time.Since(start)
				if code != 1 || stdout != "" || !strings.Contains(stderr, f.want) {
					t.Errorf("%s: exit %d, stdout %q, stderr %q; want exit 1, no output and %q", f.what, code, stdout, stderr, f.want)
				}
				if strings.Contains(stderr, "xoxb-") {
					t.Errorf("%s: a secret value reached stderr", f.what)
				}
				// Retrying a refused connection is bounded (about a second).
				if took > 10*time.Second {
					t.Errorf("%s: took %v", f.what, took)
				}
			}
		})
	}

	// The Python module's Starfleet-shaped access, and the two sample
	// handlers (SAM's and the container image's) against the real binary.
	t.Run("python-mapping-and-handlers", func(t *testing.T) {
		t.Parallel()
		script := `
import json, starfleet_secrets, example_handler, app
from starfleet_secrets import SECRETS_MANAGER, secrets
print(json.dumps([
    SECRETS_MANAGER.secrets["GitHubSyncWorker"]["starfleet-org"]["AppId"],
    secrets["STARFLEET"]["SlackToken"].startswith("xoxb-"),
    "NoSuchSlice" in secrets, "GitHubSyncWorker" in secrets,
    secrets.get("NoSuchSlice", "default"),
    example_handler.handler({"org": "enterprise-org"}, None),
    app.handler({}, None),
]))
`
		env := cleanEnv(
			"STARFLEET_SECRETS_PORT="+port, "AWS_SESSION_TOKEN="+token,
			"PYTHONPATH="+pyDir+string(os.PathListSeparator)+filepath.Join(root, "examples", "container"),
		)
		stdout, stderr, code := runCmd(t, dir, env, python, "-c", script)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		var got any
		if err := json.Unmarshal([]byte(stdout), &got); err != nil {
			t.Fatalf("%v: %s", err, stdout)
		}
		fields := []any{"AppId", "InstallationId", "PrivateKey"}
		want := []any{"123456", true, false, true, "default",
			map[string]any{"org": "enterprise-org", "configured": true, "fields": fields},
			map[string]any{"org": "starfleet-org", "configured": true, "fields": fields},
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("got  %v\nwant %v", got, want)
		}
	})
}
