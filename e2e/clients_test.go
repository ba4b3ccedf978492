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
	tagIndependent(t)
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

// debianPython is the Debian interpreter, whose python3-setuptools,
// python3-wheel and python3-venv build and install the package (the
// pyenv one on PATH lacks a wheel builder, and PyPI is out of reach).
const debianPython = "/usr/bin/python3"

// TestClientPackagesInstallAndRead: each client installs as a package into
// a fresh project, the way a team takes it, and reads a slice from the real
// binary: the Python wheel with pip into a new venv, the Node package from
// npm pack into a new project (CommonJS, ES module and its types), the Go
// package into a new module.
func TestClientPackagesInstallAndRead(t *testing.T) {
	t.Parallel()
	root := repoRoot(t)
	l := start(t, serving(filepath.Join(root, "testdata", "starfleet-secret.json")), withEnv("STARFLEET_SECRETS_LOG_LEVEL=warn"))
	port := strings.TrimPrefix(l.base, "http://127.0.0.1:")
	env := cleanEnv("STARFLEET_SECRETS_PORT="+port, "STARFLEET_SECRETS_TOKEN="+l.token, "STARFLEET_SECRETS_USE_EXTENSION=true")
	var want string
	if err := json.Unmarshal([]byte(rawSlice(t, mustRead(t, filepath.Join(root, "testdata", "starfleet-secret.json")), "PlainSliceExample")), &want); err != nil {
		t.Fatal(err)
	}
	check := func(what, stdout, stderr string, code int) {
		t.Helper()
		var got any
		if code != 0 || json.Unmarshal([]byte(stdout), &got) != nil || got != want {
			t.Errorf("%s: exit %d, printed %q (want %q)\n%s", what, code, stdout, want, stderr)
		}
	}

	t.Run("python", func(t *testing.T) {
		if _, err := os.Stat(debianPython); err != nil {
			t.Fatalf("%s is required: apt-get install -y python3-setuptools python3-wheel python3-venv (.ci/run does)", debianPython)
		}
		work, out, venv := t.TempDir(), t.TempDir(), filepath.Join(t.TempDir(), "venv")
		if err := os.CopyFS(work, os.DirFS(filepath.Join(root, "examples", "clients", "python"))); err != nil {
			t.Fatal(err)
		}
		build := "import sys\nfrom setuptools import build_meta\nprint(build_meta.build_wheel(sys.argv[1]))"
		stdout, stderr, code := runCmd(t, work, cleanEnv(), debianPython, "-c", build, out)
		if code != 0 {
			t.Fatalf("building the wheel: exit %d\n%s", code, stderr)
		}
		wheel := filepath.Join(out, lastLine(stdout))
		if _, stderr, code := runCmd(t, "", cleanEnv(), debianPython, "-m", "venv", venv); code != 0 {
			t.Fatalf("python3 -m venv: %s", stderr)
		}
		if _, stderr, code := runCmd(t, "", cleanEnv(), filepath.Join(venv, "bin", "pip"), "install", "--no-index", "--no-deps", "--quiet", wheel); code != 0 {
			t.Fatalf("pip install %s: %s", filepath.Base(wheel), stderr)
		}
		stdout, stderr, code = runCmd(t, t.TempDir(), env, filepath.Join(venv, "bin", "python"), "-m", "starfleet_secrets", "PlainSliceExample")
		check("the wheel in a fresh venv", stdout, stderr, code)
	})

	t.Run("node", func(t *testing.T) {
		npm := need(t, "npm", "install Node.js 18 or newer with npm")
		node := need(t, "node", "install Node.js 18 or newer")
		packed, project := t.TempDir(), t.TempDir()
		stdout, stderr, code := runCmd(t, filepath.Join(root, "examples", "clients", "node"), cleanEnv(), npm, "pack", "--silent", "--pack-destination", packed)
		if code != 0 {
			t.Fatalf("npm pack: %s", stderr)
		}
		tarball := filepath.Join(packed, lastLine(stdout))
		writeFile(t, filepath.Join(project, "package.json"), `{"name": "a-handler", "version": "1.0.0", "private": true}`)
		if _, stderr, code := runCmd(t, project, cleanEnv(), npm, "install", "--no-audit", "--no-fund", "--silent", tarball); code != 0 {
			t.Fatalf("npm install %s: %s", filepath.Base(tarball), stderr)
		}
		writeFile(t, filepath.Join(project, "read.cjs"), `const { getSlice } = require('starfleet-secrets');
getSlice('PlainSliceExample').then((v) => console.log(JSON.stringify(v)), (e) => { console.error(e.message); process.exit(1); });
`)
		writeFile(t, filepath.Join(project, "read.mjs"), `import { getSlice, StarfleetSecretsError } from 'starfleet-secrets';
if (typeof StarfleetSecretsError !== 'function') throw new Error('no StarfleetSecretsError export');
console.log(JSON.stringify(await getSlice('PlainSliceExample')));
`)
		for _, script := range []string{"read.cjs", "read.mjs"} {
			stdout, stderr, code := runCmd(t, project, env, node, script)
			check("the npm package, "+script, stdout, stderr, code)
		}
		tsc := filepath.Join(root, "examples", "cdk", "node_modules", ".bin", "tsc")
		if _, err := os.Stat(tsc); err != nil {
			t.Fatalf("TypeScript from examples/cdk is required to check the types: npm ci --prefix examples/cdk (make test does): %v", err)
		}
		writeFile(t, filepath.Join(project, "read.ts"), `import { getSlice, StarfleetSecretsError } from 'starfleet-secrets';
async function main(): Promise<string> {
  try {
    return await getSlice<string>('PlainSliceExample');
  } catch (e) {
    if (e instanceof StarfleetSecretsError) return String(e.status) + e.code;
    throw e;
  }
}
main();
`)
		if stdout, stderr, code := runCmd(t, project, cleanEnv(), tsc, "--noEmit", "--strict", "--module", "nodenext", "--moduleResolution", "nodenext",
			"--target", "es2022", "read.ts"); code != 0 {
			t.Errorf("type-checking against the package's index.d.ts: exit %d\n%s%s", code, stdout, stderr)
		}
	})

	t.Run("go", func(t *testing.T) {
		project := t.TempDir()
		writeFile(t, filepath.Join(project, "go.mod"), "module example.com/handler\n\ngo 1.26\n\nrequire github.com/starfleet/starfleet-secrets v0.0.0\n\nreplace github.com/starfleet/starfleet-secrets => "+root+"\n")
		writeFile(t, filepath.Join(project, "main.go"), `package main

import (
	"context"
	"fmt"
	"os"

	"github.com/starfleet/starfleet-secrets/client"
)

func main() {
	c, err := client.New()
	if err == nil {
		var v string
		if err = c.Decode(context.Background(), "PlainSliceExample", &v); err == nil {
			fmt.Printf("%q\n", v)
			return
		}
	}
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}
`)
		goEnv := append(slices.Clone(env), "GOFLAGS=-mod=mod", "GOWORK=off")
		if _, stderr, code := runCmd(t, project, goEnv, "go", "mod", "tidy"); code != 0 {
			t.Fatalf("go mod tidy: %s", stderr)
		}
		stdout, stderr, code := runCmd(t, project, goEnv, "go", "run", ".")
		check("the Go package in a new module", stdout, stderr, code)
	})
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	return s[strings.LastIndexByte(s, '\n')+1:]
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
