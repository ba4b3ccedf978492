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
	sidecar := start(t, serving(secretFile), withEnv("STARFLEET_SECRETS_LOG_LEVEL=warn"))
	token := sidecar.token
	port := strings.TrimPrefix(sidecar.base, "http://127.0.0.1:")
	closedPort := strconv.Itoa(freePort(t))
	pyDir := filepath.Join(root, "examples", "clients", "python")

	clients := []struct {
		name string
		argv []string
	}{
		{"python", []string{python, "-m", "starfleet_secrets"}},
		{"node", []string{node, filepath.Join(root, "examples", "clients", "node", "starfleet-secrets.js")}},
		{"go", []string{goClient}},
	}
	for _, c := range clients {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			run := func(env []string, slice string) (string, string, int) {
				return runCmd(t, dir, cleanEnv(append(env, "PYTHONPATH="+pyDir)...), append(slices.Clone(c.argv), slice)...)
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

	// The two sample handlers (SAM's and the container image's) against the
	// real binary, reading through the extension as they would in Lambda.
	t.Run("python-handlers", func(t *testing.T) {
		t.Parallel()
		script := `
import json, example_handler, app
print(json.dumps([
    example_handler.handler({"org": "enterprise-org"}, None),
    example_handler.handler({"org": "no-such-org"}, None),
    app.handler({}, None),
]))
`
		env := cleanEnv(
			"STARFLEET_SECRETS_PORT="+port, "AWS_SESSION_TOKEN="+token, "STARFLEET_SECRETS_USE_EXTENSION=true",
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
		want := []any{
			map[string]any{"org": "enterprise-org", "configured": true, "pem": true},
			map[string]any{"org": "no-such-org", "configured": false},
			map[string]any{"org": "starfleet-org", "configured": true, "pem": true},
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("got  %v\nwant %v", got, want)
		}
		if strings.Contains(stdout+stderr, "PRIVATE KEY") {
			t.Error("a handler printed its key")
		}
	})
}

// TestPythonClientIsAPackage builds the Python client's source distribution
// from its pyproject.toml (with the setuptools at hand: no index is
// reachable) and imports Starfleet's names from what it ships.
func TestPythonClientIsAPackage(t *testing.T) {
	t.Parallel()
	python := need(t, "python3", "install Python 3 with setuptools")
	src := filepath.Join(repoRoot(t), "examples", "clients", "python")
	work, out := t.TempDir(), t.TempDir()
	// Building writes egg-info beside the sources: build from a copy.
	if err := os.CopyFS(work, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	build := "import sys\nfrom setuptools import build_meta\nprint(build_meta.build_sdist(sys.argv[1]))"
	stdout, stderr, code := runCmd(t, work, cleanEnv(), python, "-c", build, out)
	if code != 0 {
		t.Fatalf("building the sdist: exit %d\n%s", code, stderr)
	}
	sdist := filepath.Join(out, strings.TrimSpace(stdout[strings.LastIndexByte(strings.TrimSpace(stdout), '\n')+1:]))
	unpacked := t.TempDir()
	if _, stderr, code := runCmd(t, unpacked, cleanEnv(), "tar", "xzf", sdist); code != 0 {
		t.Fatalf("tar: %s", stderr)
	}
	root := filepath.Join(unpacked, strings.TrimSuffix(filepath.Base(sdist), ".tar.gz"))
	info, err := os.ReadFile(filepath.Join(root, "PKG-INFO"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(info), "\nName: starfleet-secrets\n") || strings.Contains(string(info), "\nRequires-Dist: boto3\n") {
		t.Errorf("PKG-INFO: want Name starfleet-secrets and no required dependency:\n%s", info)
	}
	if _, err := os.Stat(filepath.Join(root, "tests")); err == nil {
		t.Error("the package ships its tests")
	}
	check := "from starfleet_secrets import SECRETS_MANAGER, SecretsConfigurationMissingError, SecretsManager\n" +
		"import sys, starfleet_secrets\n" +
		"assert isinstance(SECRETS_MANAGER, SecretsManager) and issubclass(SecretsConfigurationMissingError, Exception)\n" +
		"assert 'boto3' not in sys.modules, 'boto3 imported at import time'\n" +
		"print(starfleet_secrets.__file__)"
	stdout, stderr, code = runCmd(t, t.TempDir(), cleanEnv("PYTHONPATH="+root), python, "-c", check)
	if code != 0 || !strings.HasPrefix(stdout, root) {
		t.Errorf("importing from the sdist: exit %d %s %s", code, stdout, stderr)
	}
}
