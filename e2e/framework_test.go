package e2e

// The framework every black-box test stands on: the binary built once per
// test run, launched under the fake Lambda platform with Secrets Manager
// (moto) behind a counting, fault-injecting proxy, or in local mode; HTTP
// helpers that poll with deadlines; and a scanner that searches a process's
// whole output for secret values and the token.

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/starfleet/starfleet-secrets/extension/extensiontest"
	"github.com/starfleet/starfleet-secrets/upstream/upstreamtest"
)

// mainPackage is the program under test.
const mainPackage = "github.com/starfleet/starfleet-secrets/cmd/starfleet-secrets"

// e2e holds what the whole test binary shares: moto and the built binary.
var e2e struct {
	moto   *upstreamtest.Moto
	binary string
}

func TestMain(m *testing.M) {
	if os.Getenv(goRunnerVariable) != "" {
		os.Exit(runGoSDK(os.Stdin, os.Stdout))
	}
	os.Exit(upstreamtest.RunWithMoto(m, &e2e.moto))
}

// binaryPath builds the extension once per test binary, with the race
// detector so that a data race in the real process fails the test (it exits
// with code 66).
var buildOnce = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "starfleet-e2e-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "starfleet-secrets")
	out, err := exec.Command("go", "build", "-race", "-tags", binaryTags, "-o", bin, mainPackage).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
})

func binaryPath(t *testing.T) string {
	t.Helper()
	bin, err := buildOnce()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// secretValues are distinctive so a leak into the logs is unmistakable.
var secretValues = []string{
	"xoxb-e2e-slack-Q7d9Lm2v", "ORG-A Zp4kT8wq", "ORG-B Hn3rX5yc", "plain-slice-Vb72Kd",
}

// starfleetSecret has Starfleet's shape: the Slack token under STARFLEET,
// and GitHubSyncWorker mapping each organisation to its app's PEM key.
const starfleetSecret = `{
  "STARFLEET": {"SlackToken": "xoxb-e2e-slack-Q7d9Lm2v"},
  "GitHubSyncWorker": {
    "org-a": "-----BEGIN RSA PRIVATE KEY-----\nORG-A Zp4kT8wq\n-----END RSA PRIVATE KEY-----\n",
    "org-b": "-----BEGIN RSA PRIVATE KEY-----\nORG-B Hn3rX5yc\n-----END RSA PRIVATE KEY-----\n"
  },
  "Plain": "plain-slice-Vb72Kd"
}`

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// resetMoto empties the emulator and creates the Starfleet secret.
func resetMoto(t *testing.T, value string) *secretsmanager.CreateSecretOutput {
	t.Helper()
	if err := e2e.moto.Reset(t.Context()); err != nil {
		t.Fatal(err)
	}
	out, err := upstreamtest.Client(e2e.moto.URL()).CreateSecret(t.Context(), &secretsmanager.CreateSecretInput{
		Name: aws.String("Starfleet"), SecretString: aws.String(value),
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func putSecret(t *testing.T, value string) {
	t.Helper()
	_, err := upstreamtest.Client(e2e.moto.URL()).PutSecretValue(t.Context(), &secretsmanager.PutSecretValueInput{
		SecretId: aws.String("Starfleet"), SecretString: aws.String(value),
	})
	if err != nil {
		t.Fatal(err)
	}
}

// output collects what a process writes while a test reads it: the
// writer and the reader run on different goroutines.
type output struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.Write(p)
}

func (o *output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

// instance is one extension process a test started with start.
type instance struct {
	t        *testing.T
	platform *extensiontest.Server  // Lambda mode
	proc     *extensiontest.Process // Lambda mode
	proxy    *upstreamtest.Proxy    // Lambda mode and the emulator: moto behind it
	cmd      *exec.Cmd
	base     string // http://127.0.0.1:port
	invokes  string // the emulator's invocation URL
	token    string
	output   *output
	exited   chan struct{} // local mode and the emulator: closed once the process ended
	waitErr  error         // how it ended, once exited is closed
	stopped  bool
}

// mode is where the binary runs.
type mode int

const (
	lambdaMode   mode = iota // under the fake platform, extensiontest
	localMode                // a plain local sidecar serving a file
	emulatorMode             // under AWS's Runtime Interface Emulator
)

// launch is what start starts; options change it.
type launch struct {
	mode     mode
	bin      string
	platform extensiontest.Options
	prepare  func(*upstreamtest.Proxy)
	env      []string
	file     string // local mode
	// sdkEndpoints points the endpoint variables at the extension itself,
	// as a function reading through it has them.
	sdkEndpoints bool
	concurrency  int // the emulator: Managed Instances when > 0
	// user, when set, runs the process as that user (local mode; the test
	// runs as root).
	user *syscall.Credential
}

type option func(*launch)

// withEnv adds variables to (and overrides) the mode's environment.
func withEnv(kv ...string) option { return func(l *launch) { l.env = append(l.env, kv...) } }

// withPlatform runs the binary under a fake platform built with o.
func withPlatform(o extensiontest.Options) option { return func(l *launch) { l.platform = o } }

// withProxy prepares the proxy before the process starts (to hold or fail
// its first fetch).
func withProxy(prepare func(*upstreamtest.Proxy)) option {
	return func(l *launch) { l.prepare = prepare }
}

// withBinary runs bin instead of the race-built binary.
func withBinary(bin string) option { return func(l *launch) { l.bin = bin } }

// asUser runs the process as uid and gid.
func asUser(uid, gid uint32) option {
	return func(l *launch) { l.user = &syscall.Credential{Uid: uid, Gid: gid} }
}

// serving is local mode: a plain sidecar serving file, no AWS.
func serving(file string) option {
	return func(l *launch) { l.mode, l.file = localMode, file }
}

// underEmulator runs the binary under the Runtime Interface Emulator, in
// its own mount namespace; under Managed Instances when concurrency > 0.
func underEmulator(concurrency int) option {
	return func(l *launch) { l.mode, l.concurrency = emulatorMode, concurrency }
}

// start starts the extension: under a fresh fake platform with Secrets
// Manager (moto) behind a fresh counting proxy unless an option says
// otherwise. The process is stopped, and its output shown if the test
// failed, when the test ends.
func start(t *testing.T, opts ...option) *instance {
	t.Helper()
	var l launch
	for _, o := range opts {
		o(&l)
	}
	if l.bin == "" {
		l.bin = binaryPath(t)
	}
	switch l.mode {
	case localMode:
		return startLocal(t, l)
	case emulatorMode:
		return startEmulated(t, l)
	}
	return startUnderPlatform(t, l)
}

// startUnderPlatform starts the binary as Lambda would.
func startUnderPlatform(t *testing.T, l launch) *instance {
	t.Helper()
	in := &instance{
		t:        t,
		platform: extensiontest.NewTestServer(t, l.platform),
		proxy:    upstreamtest.NewProxy(e2e.moto.URL()),
		token:    "e2e-token-" + strconv.Itoa(os.Getpid()),
		output:   &output{},
	}
	t.Cleanup(in.proxy.Close)
	if l.prepare != nil {
		l.prepare(in.proxy)
	}
	port := freePort(t)
	in.base = fmt.Sprintf("http://127.0.0.1:%d", port)
	in.cmd = exec.Command(l.bin)
	in.cmd.Env = append(os.Environ(), upstreamtest.Env(in.proxy.URL())...)
	in.cmd.Env = append(in.cmd.Env,
		"AWS_SESSION_TOKEN="+in.token,
		"STARFLEET_SECRETS_PORT="+strconv.Itoa(port),
		"STARFLEET_SECRETS_LOG_LEVEL=debug",
		raceEnv,
	)
	if l.sdkEndpoints {
		in.cmd.Env = append(in.cmd.Env, "AWS_ENDPOINT_URL="+in.proxy.URL(),
			fmt.Sprintf("AWS_ENDPOINT_URL_SECRETS_MANAGER=http://localhost:%d", port),
			fmt.Sprintf("AWS_ENDPOINT_URL_SSM=http://127.0.0.1:%d/", port))
	}
	in.cmd.Env = append(in.cmd.Env, l.env...)
	in.cmd.Stdout, in.cmd.Stderr = in.output, in.output
	proc, err := in.platform.Start(in.cmd)
	if err != nil {
		t.Fatal(err)
	}
	in.proc = proc
	t.Cleanup(func() {
		if !in.stopped {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			in.platform.StopWithShutdown(ctx, proc, "spindown", 2*time.Second)
		}
		in.cmd.Process.Kill() // a no-op once it exited; never leave one behind
		in.showOutputIfFailed()
	})
	return in
}

// raceEnv makes a data race in the process end it at once with exit code
// 66, which the test then sees.
const raceEnv = "GORACE=halt_on_error=1 exitcode=66 atexit_sleep_ms=0"

// startProcess starts in.cmd, recording how it ends.
func (in *instance) startProcess() {
	in.t.Helper()
	in.cmd.Stdout, in.cmd.Stderr = in.output, in.output
	if err := in.cmd.Start(); err != nil {
		in.t.Fatal(err)
	}
	in.exited = make(chan struct{})
	go func() { in.waitErr = in.cmd.Wait(); close(in.exited) }()
}

func (in *instance) showOutputIfFailed() {
	if in.t.Failed() {
		in.t.Logf("extension output:\n%s", in.output)
	}
}

// startLocal runs the binary in local mode on a free port, serving l.file,
// and returns once /health answers 200. A port taken between choosing and
// binding makes the process exit; then it tries another.
func startLocal(t *testing.T, l launch) *instance {
	t.Helper()
	for range 3 {
		port := freePort(t)
		in := &instance{t: t, token: randomToken(t), output: &output{},
			base: fmt.Sprintf("http://127.0.0.1:%d", port)}
		in.cmd = exec.Command(l.bin)
		in.cmd.Env = cleanEnv(append([]string{
			"STARFLEET_SECRETS_FILE=" + l.file,
			"STARFLEET_SECRETS_TOKEN=" + in.token,
			"STARFLEET_SECRETS_PORT=" + strconv.Itoa(port),
			"STARFLEET_SECRETS_LOG_LEVEL=debug",
			raceEnv,
		}, l.env...)...)
		if l.user != nil {
			in.cmd.SysProcAttr = &syscall.SysProcAttr{Credential: l.user}
		}
		in.startProcess()
		healthy := poll(t, 15*time.Second, 10*time.Millisecond, func() bool { return in.hasExited() || in.healthy() })
		switch {
		case healthy && !in.hasExited():
			t.Cleanup(func() {
				if !in.stopped {
					in.stop(10 * time.Second)
				}
				in.showOutputIfFailed()
			})
			return in
		case in.hasExited():
			t.Logf("local mode on port %d exited (%v), trying another port:\n%s", port, in.waitErr, in.output)
			continue
		}
		in.cmd.Process.Kill()
		<-in.exited
		t.Fatalf("local mode on port %d: /health did not answer 200 within 15s\n%s", port, in.output)
	}
	t.Fatal("local mode could not start on three free ports")
	return nil
}

// hasExited reports whether a process started by startProcess ended.
func (in *instance) hasExited() bool {
	select {
	case <-in.exited:
		return true
	default:
		return false
	}
}

// healthy reports whether /health answers 200.
func (in *instance) healthy() bool {
	client := &http.Client{Timeout: time.Second}
	resp, err := client.Get(in.base + "/health")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// stop sends SIGTERM, as a container stop does, and returns how the
// process ended, failing the test if it outlives within.
func (in *instance) stop(within time.Duration) error {
	in.t.Helper()
	in.stopped = true
	in.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-in.exited:
		return in.waitErr
	case <-time.After(within):
		in.cmd.Process.Kill()
		<-in.exited
		in.t.Fatalf("the process did not exit within %v of SIGTERM", within)
		return nil
	}
}

// waitInit waits until the extension registered and asked for its first
// event: Lambda's init phase is over.
func (in *instance) waitInit() {
	in.t.Helper()
	ctx, cancel := context.WithTimeout(in.t.Context(), 30*time.Second)
	defer cancel()
	if _, err := in.platform.WaitRegistered(ctx); err != nil {
		in.t.Fatalf("register: %v\n%s", err, in.output)
	}
	if err := in.platform.WaitIdle(ctx); err != nil {
		in.t.Fatalf("first /event/next: %v\n%s", err, in.output)
	}
}

func (in *instance) invoke() {
	in.t.Helper()
	ctx, cancel := context.WithTimeout(in.t.Context(), 10*time.Second)
	defer cancel()
	if _, err := in.platform.Invoke(ctx, 3*time.Second); err != nil {
		in.t.Fatal(err)
	}
}

func (in *instance) shutdown(deadline time.Duration) extensiontest.ExitResult {
	in.t.Helper()
	in.stopped = true
	ctx, cancel := context.WithTimeout(in.t.Context(), deadline+10*time.Second)
	defer cancel()
	res, err := in.platform.StopWithShutdown(ctx, in.proc, "spindown", deadline)
	if err != nil {
		in.t.Fatal(err)
	}
	return res
}

type answer struct {
	status int
	header http.Header
	body   string
}

func (in *instance) get(method, path string, header ...string) answer {
	in.t.Helper()
	a, err := in.try(in.t.Context(), method, path, header...)
	if err != nil {
		in.t.Fatal(err)
	}
	return a
}

// try is get for use from other goroutines: it reports instead of failing.
func (in *instance) try(ctx context.Context, method, path string, header ...string) (answer, error) {
	req, err := http.NewRequestWithContext(ctx, method, in.base+path, nil)
	if err != nil {
		return answer{}, err
	}
	req.Header.Set("X-Aws-Parameters-Secrets-Token", in.token)
	for i := 0; i < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return answer{}, err
	}
	return answer{resp.StatusCode, resp.Header, string(body)}, nil
}

func (in *instance) upstreamCalls() int { return in.proxy.Count("GetSecretValue") }

func rawSlice(t *testing.T, doc, slice string, keys ...string) string {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(doc), &m); err != nil {
		t.Fatal(err)
	}
	raw := m[slice]
	for _, k := range keys {
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatal(err)
		}
		raw = m[k]
	}
	return string(raw)
}

// poll calls check every pause until it reports true, for at most within,
// and reports whether it did. It is the suite's one waiting loop: a
// condition with a deadline, never a sleep standing in for an event.
func poll(t testing.TB, within, pause time.Duration, check func() bool) bool {
	deadline := time.Now().Add(within)
	for !check() {
		if time.Now().After(deadline) {
			return false
		}
		select {
		case <-time.After(pause):
		case <-t.Context().Done():
			return false
		}
	}
	return true
}

// errorBody decodes a contract error.
func errorBody(t *testing.T, a answer) (code, message string) {
	t.Helper()
	var e struct{ Error, Message string }
	if err := json.Unmarshal([]byte(a.body), &e); err != nil {
		t.Fatalf("answer %d is not a JSON error: %q", a.status, a.body)
	}
	if ct := a.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("error answer Content-Type %q", ct)
	}
	return e.Error, e.Message
}

// assertNoLeak searches the process output and every answer body seen for
// secret values and the token.
func assertNoLeak(t *testing.T, l *instance, markers []string, bodies ...string) {
	t.Helper()
	out := l.output.String()
	if !strings.Contains(out, `"level":"DEBUG"`) && !strings.Contains(out, `"level":"INFO"`) {
		t.Errorf("no log output to search:\n%s", out)
	}
	for _, m := range append(markers, l.token) {
		if strings.Contains(out, m) {
			t.Errorf("the extension's output contains %q", m)
		}
	}
	for _, b := range bodies {
		for _, m := range markers {
			if strings.Contains(b, m) {
				t.Errorf("an error answer contains %q: %s", m, b)
			}
		}
	}
}

func createSecret(t *testing.T, id, value string) {
	t.Helper()
	if _, err := sm().CreateSecret(context.Background(), &secretsmanager.CreateSecretInput{Name: aws.String(id), SecretString: aws.String(value)}); err != nil {
		t.Fatal(err)
	}
}

// pace spaces out the steps of a workload (rotations every so often): it
// times the load a test makes, and never stands in for waiting on an event,
// which poll does.
func pace(t testing.TB, d time.Duration) {
	select {
	case <-time.After(d):
	case <-t.Context().Done():
	}
}

// pollAnswer asks for path until done accepts an answer, for at most d.
func pollAnswer(t *testing.T, in *instance, d time.Duration, path string, done func(answer) bool) answer {
	t.Helper()
	var a answer
	if !poll(t, d, 50*time.Millisecond, func() bool { a = in.get("GET", path); return done(a) }) {
		t.Fatalf("GET %s: still %d %s %q after %v", path, a.status, a.body, a.header.Get("Warning"), d)
	}
	return a
}

func sm() *secretsmanager.Client { return upstreamtest.Client(e2e.moto.URL()) }

// waitExit waits for the process to end on its own within d.
func (in *instance) waitExit(d time.Duration) extensiontest.ExitResult {
	in.t.Helper()
	in.stopped = true
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	res, err := in.proc.Wait(ctx)
	if err != nil {
		in.t.Fatalf("the extension did not exit within %v: %v\n%s", d, err, in.output)
	}
	return res
}

// repoRoot is the repository root; go test runs in the package directory.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join(".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "layer.zip.mk")); err != nil {
		t.Fatalf("repository root not found from the package directory: %v", err)
	}
	return root
}

// need finds a tool the test cannot do without, failing (not skipping)
// when it is missing so that a machine without it cannot pass silently.
func need(t *testing.T, name, hint string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s is required for this test and is not on PATH: %s", name, hint)
	}
	return p
}

// cleanEnv is the test's environment without anything that would change
// what the programs under test do: tokens, starfleet-secrets settings, the
// Lambda API, and an enclosing make's flags (its jobserver is not ours).
func cleanEnv(extra ...string) []string {
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

// runCmd runs a command to completion and returns its output; a failure to
// start is fatal, a non-zero exit is the caller's to judge.
func runCmd(t *testing.T, dir string, env []string, argv ...string) (stdout, stderr string, code int) {
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

// goBuild builds a package of this module, static as shipped, into dir.
func goBuild(t *testing.T, dir, pkg, name string, flags ...string) string {
	t.Helper()
	out := filepath.Join(dir, name)
	argv := append(append([]string{"go", "build"}, flags...), "-o", out, pkg)
	stdout, stderr, code := runCmd(t, "", cleanEnv("CGO_ENABLED=0"), argv...)
	if code != 0 {
		t.Fatalf("go build %s: exit %d\n%s%s", pkg, code, stdout, stderr)
	}
	return out
}

func randomToken(t *testing.T) string {
	t.Helper()
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// tagIndependent marks a test whose result does not depend on the build
// tags of the binary under test (it builds what it checks itself, or reads
// the deploy recipes): make test runs the suite once per build, and such a
// test needs only one of them.
func tagIndependent(t *testing.T) {
	t.Helper()
	if binaryTags != "" {
		t.Skip("independent of the binary's build tags: runs in the default build's suite")
	}
}
