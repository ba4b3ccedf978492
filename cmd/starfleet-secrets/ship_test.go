package main

// Tests for what ships around the binary (issue 5): the reproducible layer
// zips built by layer.zip.mk, the client examples run against the binary in
// local mode, the SAM template and the container recipe. Helpers are
// prefixed "ship" so they cannot collide with the package's other tests.

import (
	"archive/zip"
	"bytes"
	"crypto/rand"
	"debug/buildinfo"
	"debug/elf"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// shipRoot is the repository root; go test runs in the package directory.
func shipRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "layer.zip.mk")); err != nil {
		t.Fatalf("repository root not found from the package directory: %v", err)
	}
	return root
}

// shipNeed finds a tool the test cannot do without, failing (not skipping)
// when it is missing so that a machine without it cannot pass silently.
func shipNeed(t *testing.T, name, hint string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s is required for this test and is not on PATH: %s", name, hint)
	}
	return p
}

// shipEnv is the test's environment without anything that would change
// what the programs under test do: tokens, starfleet-secrets settings, the
// Lambda API, and an enclosing make's flags (its jobserver is not ours).
func shipEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(name, "STARFLEET_"),
			name == "AWS_TOKEN", name == "AWS_SESSION_TOKEN", name == "AWS_CONTAINER_AUTHORIZATION_TOKEN",
			name == "AWS_LAMBDA_RUNTIME_API",
			name == "MAKEFLAGS", name == "MFLAGS", name == "MAKELEVEL", name == "MAKEOVERRIDES":
			continue
		}
		env = append(env, kv)
	}
	// Keep the examples' directories free of __pycache__.
	env = append(env, "PYTHONDONTWRITEBYTECODE=1")
	return append(env, extra...)
}

// shipRun runs a command to completion and returns its output; a failure to
// start is fatal, a non-zero exit is the caller's to judge.
func shipRun(t *testing.T, dir string, env []string, argv ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		code = exit.ExitCode()
	default:
		t.Fatalf("%s: %v", strings.Join(argv, " "), err)
	}
	return out.String(), errb.String(), code
}

// The layer test stamps its own version and timestamp, so that a commit
// landing between its two builds cannot make them differ; the defaults
// (git describe, the commit's time) reach the same variables.
const (
	shipVersion = "v0.0.0-shiptest"
	shipCommit  = "5417e57e5700"
	shipEpoch   = 1700000000 // 2023-11-14 22:13:20 UTC, even as zip wants
)

func TestShipLayerZips(t *testing.T) {
	t.Parallel()
	makeBin := shipNeed(t, "make", "install make")
	root := shipRoot(t)
	build := func() string {
		dist := t.TempDir()
		start := time.Now()
		stdout, stderr, code := shipRun(t, root, shipEnv(), makeBin, "--no-print-directory", "layer", "DIST="+dist,
			"VERSION="+shipVersion, "COMMIT="+shipCommit, "SOURCE_DATE_EPOCH="+strconv.Itoa(shipEpoch))
		if code != 0 {
			t.Fatalf("make layer DIST=%s: exit %d\n%s%s", dist, code, stdout, stderr)
		}
		t.Logf("make layer took %v", time.Since(start).Round(time.Millisecond))
		return dist
	}
	first := build()
	second := ""
	if !testing.Short() {
		second = build()
	}
	license, err := os.ReadFile(filepath.Join(root, "LICENSE"))
	if err != nil {
		t.Fatal(err)
	}
	notices, err := os.ReadFile(filepath.Join(root, "THIRD_PARTY_NOTICES"))
	if err != nil {
		t.Fatal(err)
	}

	for _, arch := range []struct {
		name, goarch string
		machine      elf.Machine
	}{
		{"x86_64", "amd64", elf.EM_X86_64},
		{"arm64", "arm64", elf.EM_AARCH64},
	} {
		t.Run(arch.name, func(t *testing.T) {
			name := "starfleet-secrets-layer-" + arch.name + ".zip"
			data, err := os.ReadFile(filepath.Join(first, name))
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: %d bytes", name, len(data))
			if second != "" {
				again, err := os.ReadFile(filepath.Join(second, name))
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(data, again) {
					t.Errorf("two builds of the same tree differ: %d and %d bytes, first differing bytes %x", len(data), len(again), shipFirstDiff(data, again))
				}
			}
			zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
			if err != nil {
				t.Fatal(err)
			}
			files := map[string]*zip.File{}
			var names []string
			for _, f := range zr.File {
				names = append(names, f.Name)
				files[f.Name] = f
				if len(f.Extra) != 0 || f.Flags&0x8 != 0 || f.Comment != "" {
					t.Errorf("%s: extra field %x, flags %#x, comment %q; want none", f.Name, f.Extra, f.Flags, f.Comment)
				}
				if want := time.Unix(shipEpoch, 0); !f.Modified.Equal(want) {
					t.Errorf("%s: modified %v, want SOURCE_DATE_EPOCH %v", f.Name, f.Modified, want.UTC())
				}
			}
			wantNames := []string{
				"extensions/", "extensions/starfleet-secrets",
				"starfleet-secrets/", "starfleet-secrets/LICENSE", "starfleet-secrets/THIRD_PARTY_NOTICES",
			}
			if !slices.Equal(names, wantNames) {
				t.Fatalf("entries %q, want %q", names, wantNames)
			}
			for name, want := range map[string][]byte{"starfleet-secrets/LICENSE": license, "starfleet-secrets/THIRD_PARTY_NOTICES": notices} {
				if got := shipUnzip(t, files[name]); !bytes.Equal(got, want) {
					t.Errorf("%s differs from the repository's copy (after a dependency change, run `make notices`)", name)
				}
				if m := files[name].Mode(); m != 0o644 {
					t.Errorf("%s: mode %v, want -rw-r--r--", name, m)
				}
			}

			ext := files["extensions/starfleet-secrets"]
			if m := ext.Mode(); m != 0o755 {
				t.Errorf("extensions/starfleet-secrets: mode %v, want -rwxr-xr-x", m)
			}
			exe := shipUnzip(t, ext)
			t.Logf("extensions/starfleet-secrets: %d bytes", len(exe))
			shipCheckStaticELF(t, exe, arch.machine)
			shipCheckBuildInfo(t, exe, arch.goarch)
			// -trimpath keeps -ldflags out of the build info, so look for
			// the stamped strings themselves, and run the binary if we can.
			for _, s := range []string{shipVersion, shipCommit} {
				if !bytes.Contains(exe, []byte(s)) {
					t.Errorf("binary lacks %q: VERSION/COMMIT did not reach -X main.version/main.commit", s)
				}
			}
			if runtime.GOOS == "linux" && runtime.GOARCH == arch.goarch {
				bin := filepath.Join(t.TempDir(), "starfleet-secrets")
				if err := os.WriteFile(bin, exe, 0o755); err != nil {
					t.Fatal(err)
				}
				out, stderr, code := shipRun(t, "", shipEnv(), bin, "--version")
				if want := "starfleet-secrets " + shipVersion + " (commit " + shipCommit + ")\n"; code != 0 || out != want {
					t.Errorf("--version: exit %d, %q %q; want %q", code, out, stderr, want)
				}
			}
		})
	}
}

// shipFirstDiff returns a few bytes around the first difference, for the message.
func shipFirstDiff(a, b []byte) []byte {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return a[i:min(i+8, len(a))]
		}
	}
	return nil
}

func shipUnzip(t *testing.T, f *zip.File) []byte {
	t.Helper()
	rc, err := f.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(rc); err != nil { // checks the CRC too
		t.Fatalf("%s: %v", f.Name, err)
	}
	return buf.Bytes()
}

// shipCheckStaticELF wants a 64-bit Linux executable for machine that needs
// no dynamic loader and carries no symbol table (-s -w).
func shipCheckStaticELF(t *testing.T, exe []byte, machine elf.Machine) {
	t.Helper()
	f, err := elf.NewFile(bytes.NewReader(exe))
	if err != nil {
		t.Fatalf("not ELF: %v", err)
	}
	defer f.Close()
	if f.Machine != machine || f.Class != elf.ELFCLASS64 || f.Type != elf.ET_EXEC {
		t.Errorf("ELF %v %v %v, want %v ELFCLASS64 ET_EXEC", f.Machine, f.Class, f.Type, machine)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("has a %v program header: not static", p.Type)
		}
	}
	for _, name := range []string{".interp", ".dynamic", ".symtab"} {
		if f.Section(name) != nil {
			t.Errorf("has a %s section; want a static, stripped binary", name)
		}
	}
}

// shipCheckBuildInfo checks the build settings recorded in the binary.
func shipCheckBuildInfo(t *testing.T, exe []byte, goarch string) {
	t.Helper()
	info, err := buildinfo.Read(bytes.NewReader(exe))
	if err != nil {
		t.Fatalf("build info: %v", err)
	}
	settings := map[string]string{}
	for _, s := range info.Settings {
		settings[s.Key] = s.Value
	}
	for key, want := range map[string]string{"CGO_ENABLED": "0", "-trimpath": "true", "GOOS": "linux", "GOARCH": goarch} {
		if settings[key] != want {
			t.Errorf("build setting %s=%q, want %q", key, settings[key], want)
		}
	}
}

// shipFreePort asks the kernel for a loopback port nobody is listening on.
func shipFreePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// shipGoBuild builds a package of this module into dir.
func shipGoBuild(t *testing.T, root, dir, pkg, name string) string {
	t.Helper()
	out := filepath.Join(dir, name)
	stdout, stderr, code := shipRun(t, root, shipEnv(), "go", "build", "-o", out, pkg)
	if code != 0 {
		t.Fatalf("go build %s: exit %d\n%s%s", pkg, code, stdout, stderr)
	}
	return out
}

// shipServeLocal runs the binary in local mode on a free port, serving file
// with token, and returns the port once /health answers 200. A port taken
// between choosing and binding makes the process exit; then it tries another.
func shipServeLocal(t *testing.T, bin, file, token string) int {
	t.Helper()
	for range 3 {
		port := shipFreePort(t)
		cmd := exec.Command(bin)
		cmd.Env = shipEnv(
			"STARFLEET_SECRETS_FILE="+file,
			"STARFLEET_SECRETS_TOKEN="+token,
			"STARFLEET_SECRETS_PORT="+strconv.Itoa(port),
			"STARFLEET_SECRETS_LOG_LEVEL=warn",
		)
		var logs bytes.Buffer // read only after the process has exited
		cmd.Stderr = &logs
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan struct{})
		var waitErr error
		go func() { waitErr = cmd.Wait(); close(exited) }()
		stop := func() {
			cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-exited:
			case <-time.After(10 * time.Second):
				cmd.Process.Kill()
				<-exited
			}
		}
		if err := shipWaitHealthy(port, exited, 15*time.Second); err != nil {
			stop()
			if errors.Is(err, errShipExited) {
				t.Logf("local mode on port %d exited (%v), trying another port:\n%s", port, waitErr, logs.String())
				continue
			}
			t.Fatalf("local mode on port %d: %v\n%s", port, err, logs.String())
		}
		t.Cleanup(func() {
			stop()
			if t.Failed() {
				t.Logf("starfleet-secrets log:\n%s", logs.String())
			}
		})
		return port
	}
	t.Fatal("local mode could not start on three free ports")
	return 0
}

var errShipExited = errors.New("process exited")

// shipWaitHealthy polls /health until it answers 200, the process exits or
// the deadline passes.
func shipWaitHealthy(port int, exited <-chan struct{}, within time.Duration) error {
	client := &http.Client{Timeout: time.Second}
	url := fmt.Sprintf("http://127.0.0.1:%d/health", port)
	deadline := time.NewTimer(within)
	defer deadline.Stop()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if resp, err := client.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-exited:
			return errShipExited
		case <-deadline.C:
			return fmt.Errorf("/health did not answer 200 within %v", within)
		case <-tick.C:
		}
	}
}

func TestShipClientExamples(t *testing.T) {
	t.Parallel()
	python := shipNeed(t, "python3", "install Python 3")
	node := shipNeed(t, "node", "install Node.js 18 or newer")
	root := shipRoot(t)
	dir := t.TempDir()
	server := shipGoBuild(t, root, dir, "./cmd/starfleet-secrets", "starfleet-secrets")
	goClient := shipGoBuild(t, root, dir, "./examples/clients/go/starfleet-slice", "starfleet-slice")

	secretFile := filepath.Join(root, "testdata", "starfleet-secret.json")
	raw, err := os.ReadFile(secretFile)
	if err != nil {
		t.Fatal(err)
	}
	var want map[string]any
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	token := shipToken(t)
	port := strconv.Itoa(shipServeLocal(t, server, secretFile, token))
	closedPort := strconv.Itoa(shipFreePort(t))
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
				return shipRun(t, dir, shipEnv(env...), append(slices.Clone(c.argv), slice)...)
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
		env := shipEnv(
			"STARFLEET_SECRETS_PORT="+port, "AWS_SESSION_TOKEN="+token,
			"PYTHONPATH="+pyDir+string(os.PathListSeparator)+filepath.Join(root, "examples", "container"),
		)
		stdout, stderr, code := shipRun(t, dir, env, python, "-c", script)
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

func shipToken(t *testing.T) string {
	t.Helper()
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// shipYAMLToJSON loads a CloudFormation template with PyYAML, turning the
// short-form intrinsics (!Ref, !Sub, !GetAtt, ...) into their long forms.
const shipYAMLToJSON = `
import json, sys
try:
    import yaml
except ImportError:
    sys.exit("PyYAML is not installed for " + sys.executable + ": python3 -m pip install pyyaml")

class Loader(yaml.SafeLoader):
    pass

def intrinsic(loader, suffix, node):
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {"Fn::" + suffix: value}

Loader.add_multi_constructor("!", intrinsic)
with open(sys.argv[1]) as f:
    json.dump(yaml.load(f, Loader=Loader), sys.stdout)
`

func TestShipSAMTemplate(t *testing.T) {
	t.Parallel()
	python := shipNeed(t, "python3", "install Python 3 with PyYAML")
	root := shipRoot(t)
	samDir := filepath.Join(root, "examples", "sam")
	stdout, stderr, code := shipRun(t, samDir, shipEnv(), python, "-c", shipYAMLToJSON, "template.yaml")
	if code != 0 {
		t.Fatalf("parsing examples/sam/template.yaml: exit %d: %s", code, stderr)
	}
	type resource struct {
		Type       string
		Properties map[string]json.RawMessage
	}
	var tpl struct {
		Transform  string
		Parameters map[string]struct{ Type string }
		Resources  map[string]resource
	}
	if err := json.Unmarshal([]byte(stdout), &tpl); err != nil {
		t.Fatal(err)
	}
	if tpl.Transform != "AWS::Serverless-2016-10-31" {
		t.Errorf("Transform %q", tpl.Transform)
	}
	if tpl.Parameters["StarfleetSecretArn"].Type != "String" {
		t.Errorf("no String parameter StarfleetSecretArn: %v", tpl.Parameters)
	}
	prop := func(name string, r resource, key string, into any) {
		t.Helper()
		raw, ok := r.Properties[key]
		if !ok {
			t.Errorf("%s has no %s", name, key)
			return
		}
		if err := json.Unmarshal(raw, into); err != nil {
			t.Errorf("%s.%s = %s: %v", name, key, raw, err)
		}
	}
	ref := map[string]any{"Ref": "StarfleetSecretArn"}

	layers := map[string]string{} // architecture -> resource name
	var functions []string
	for name, r := range tpl.Resources {
		switch {
		case r.Type == "AWS::Serverless::LayerVersion":
			var uri string
			var archs []string
			prop(name, r, "ContentUri", &uri)
			prop(name, r, "CompatibleArchitectures", &archs)
			if len(archs) != 1 {
				t.Errorf("%s: CompatibleArchitectures %q, want one (each zip holds one architecture's binary)", name, archs)
				continue
			}
			want := filepath.Join(root, "dist", "starfleet-secrets-layer-"+archs[0]+".zip")
			if got := filepath.Join(samDir, uri); got != want {
				t.Errorf("%s: ContentUri %s is %s, want the %s zip %s", name, uri, got, archs[0], want)
			}
			layers[archs[0]] = name
		case r.Type == "AWS::Serverless::Function":
			functions = append(functions, name)
		case strings.HasPrefix(r.Type, "AWS::IAM::"):
			t.Errorf("%s: %s; the function's only permission belongs in its Policies", name, r.Type)
		}
	}
	if layers["arm64"] == "" || layers["x86_64"] == "" {
		t.Errorf("layers by architecture %v, want arm64 and x86_64", layers)
	}
	if len(functions) != 1 {
		t.Fatalf("functions %q, want one", functions)
	}
	name := functions[0]
	fn := tpl.Resources[name]
	var archs []string
	prop(name, fn, "Architectures", &archs)
	if !slices.Equal(archs, []string{"arm64"}) {
		t.Errorf("%s: Architectures %q, want [arm64]", name, archs)
	}
	var fnLayers []any
	prop(name, fn, "Layers", &fnLayers)
	if !reflect.DeepEqual(fnLayers, []any{map[string]any{"Ref": layers["arm64"]}}) {
		t.Errorf("%s: Layers %v, want the arm64 layer %s", name, fnLayers, layers["arm64"])
	}
	var runtimeName, handler, codeURI string
	prop(name, fn, "Runtime", &runtimeName)
	prop(name, fn, "Handler", &handler)
	prop(name, fn, "CodeUri", &codeURI)
	if !strings.HasPrefix(runtimeName, "python3.") {
		t.Errorf("%s: Runtime %q, want python3.x", name, runtimeName)
	}
	module, _, _ := strings.Cut(handler, ".")
	for _, file := range []string{module + ".py", "starfleet_secrets.py"} {
		if _, err := os.Stat(filepath.Join(samDir, codeURI, file)); err != nil {
			t.Errorf("%s: CodeUri %s lacks %s: %v", name, codeURI, file, err)
		}
	}
	var env struct{ Variables map[string]any }
	prop(name, fn, "Environment", &env)
	if !reflect.DeepEqual(env.Variables["STARFLEET_SECRET_ID"], ref) {
		t.Errorf("%s: STARFLEET_SECRET_ID = %v, want %v", name, env.Variables["STARFLEET_SECRET_ID"], ref)
	}
	if _, ok := env.Variables["STARFLEET_SECRETS_ALLOW"]; !ok {
		t.Errorf("%s: no STARFLEET_SECRETS_ALLOW: a worker should read only its own slice", name)
	}
	for _, key := range []string{"Role", "ManagedPolicyArns", "PermissionsBoundary"} {
		if _, ok := fn.Properties[key]; ok {
			t.Errorf("%s: has %s; its permissions should be exactly its Policies", name, key)
		}
	}

	// Exactly one statement: Allow secretsmanager:GetSecretValue on the one secret.
	var policies []struct {
		Statement []struct {
			Effect   string
			Action   any
			Resource any
		}
	}
	prop(name, fn, "Policies", &policies)
	if len(policies) != 1 || len(policies[0].Statement) != 1 {
		t.Fatalf("%s: Policies %+v, want one policy document with one statement", name, policies)
	}
	st := policies[0].Statement[0]
	action := st.Action
	if list, ok := action.([]any); ok && len(list) == 1 {
		action = list[0]
	}
	target := st.Resource
	if list, ok := target.([]any); ok && len(list) == 1 {
		target = list[0]
	}
	if st.Effect != "Allow" || action != "secretsmanager:GetSecretValue" || !reflect.DeepEqual(target, ref) {
		t.Errorf("%s: statement %+v, want Allow secretsmanager:GetSecretValue on %v", name, st, ref)
	}
}

// TestShipContainerRecipe checks what can be checked of the Dockerfile
// without Docker: the stages, the flags, the destination, and that every
// file it copies from the context exists.
func TestShipContainerRecipe(t *testing.T) {
	t.Parallel()
	root := shipRoot(t)
	data, err := os.ReadFile(filepath.Join(root, "examples", "container", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	for _, want := range []string{
		"FROM --platform=$BUILDPLATFORM golang:",
		"FROM public.ecr.aws/lambda/python:3.12",
		"CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH",
		"-trimpath",
		"/opt/extensions/starfleet-secrets",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
	gomod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	goLine := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindSubmatch(gomod)
	if goLine == nil {
		t.Fatal("go.mod has no go line")
	}
	if !strings.Contains(text, "ARG GO_VERSION="+string(goLine[1])+"\n") {
		t.Errorf("Dockerfile's GO_VERSION does not match go.mod's go %s", goLine[1])
	}
	for _, line := range strings.Split(text, "\n") {
		fields := strings.Fields(line)
		if len(fields) < 3 || fields[0] != "COPY" || strings.Contains(line, "--from=") {
			continue
		}
		var srcs []string
		for _, f := range fields[1 : len(fields)-1] {
			if !strings.HasPrefix(f, "--") {
				srcs = append(srcs, f)
			}
		}
		for _, src := range srcs {
			if _, err := os.Stat(filepath.Join(root, src)); err != nil && src != "." {
				t.Errorf("Dockerfile copies %s: %v", src, err)
			}
		}
	}
}
