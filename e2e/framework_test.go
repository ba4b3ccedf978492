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

	"github.com/starfleet/starfleet-secrets/cache/cachetest"
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

// lambda is one extension process under the fake platform.
type lambda struct {
	t        *testing.T
	platform *extensiontest.Server
	proxy    *upstreamtest.Proxy
	proc     *extensiontest.Process
	base     string // http://127.0.0.1:port
	token    string
	output   *cachetest.Output
	stopped  bool
}

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

// startLambda starts the extension under a fresh fake platform. env adds to
// (and overrides) the defaults.
func startLambda(t *testing.T, env ...string) *lambda {
	t.Helper()
	return startLambdaWith(t, nil, env...)
}

// startLambdaWith is startLambda with a hook that prepares the proxy before
// the process starts (to hold or fail its first fetch).
func startLambdaWith(t *testing.T, prepare func(*upstreamtest.Proxy), env ...string) *lambda {
	t.Helper()
	l, _ := startBinary(t, binaryPath(t), extensiontest.Options{}, prepare, env...)
	return l
}

// startBinary starts bin as Lambda would, under a fake platform built with
// opts, with Secrets Manager behind a fresh counting proxy that prepare (if
// set) configures first. It returns the command too, for its pid.
func startBinary(t *testing.T, bin string, opts extensiontest.Options, prepare func(*upstreamtest.Proxy), env ...string) (*lambda, *exec.Cmd) {
	t.Helper()
	l := &lambda{
		t:        t,
		platform: extensiontest.NewServer(opts),
		proxy:    upstreamtest.NewProxy(e2e.moto.URL()),
		token:    "e2e-token-" + strconv.Itoa(os.Getpid()),
		output:   &cachetest.Output{},
	}
	t.Cleanup(l.platform.Close)
	t.Cleanup(l.proxy.Close)
	if prepare != nil {
		prepare(l.proxy)
	}
	port := freePort(t)
	l.base = fmt.Sprintf("http://127.0.0.1:%d", port)
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), upstreamtest.Env(l.proxy.URL())...)
	cmd.Env = append(cmd.Env,
		"AWS_SESSION_TOKEN="+l.token,
		"STARFLEET_SECRETS_PORT="+strconv.Itoa(port),
		"STARFLEET_SECRETS_LOG_LEVEL=debug",
		"GORACE=halt_on_error=1 exitcode=66 atexit_sleep_ms=0",
	)
	cmd.Env = append(cmd.Env, env...)
	cmd.Stdout, cmd.Stderr = l.output, l.output
	proc, err := l.platform.Start(cmd)
	if err != nil {
		t.Fatal(err)
	}
	l.proc = proc
	t.Cleanup(func() {
		if !l.stopped {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			l.platform.StopWithShutdown(ctx, proc, "spindown", 2*time.Second)
		}
		cmd.Process.Kill() // a no-op once it exited; never leave one behind
		if t.Failed() {
			t.Logf("extension output:\n%s", l.output)
		}
	})
	return l, cmd
}

// waitInit waits until the extension registered and asked for its first
// event: Lambda's init phase is over.
func (l *lambda) waitInit() {
	l.t.Helper()
	ctx, cancel := context.WithTimeout(l.t.Context(), 30*time.Second)
	defer cancel()
	if _, err := l.platform.WaitRegistered(ctx); err != nil {
		l.t.Fatalf("register: %v\n%s", err, l.output)
	}
	if err := l.platform.WaitIdle(ctx); err != nil {
		l.t.Fatalf("first /event/next: %v\n%s", err, l.output)
	}
}

func (l *lambda) invoke() {
	l.t.Helper()
	ctx, cancel := context.WithTimeout(l.t.Context(), 10*time.Second)
	defer cancel()
	if _, err := l.platform.Invoke(ctx, 3*time.Second); err != nil {
		l.t.Fatal(err)
	}
}

func (l *lambda) shutdown(deadline time.Duration) extensiontest.ExitResult {
	l.t.Helper()
	l.stopped = true
	ctx, cancel := context.WithTimeout(l.t.Context(), deadline+10*time.Second)
	defer cancel()
	res, err := l.platform.StopWithShutdown(ctx, l.proc, "spindown", deadline)
	if err != nil {
		l.t.Fatal(err)
	}
	return res
}

type answer struct {
	status int
	header http.Header
	body   string
}

func (l *lambda) get(method, path string, header ...string) answer {
	l.t.Helper()
	a, err := l.try(l.t.Context(), method, path, header...)
	if err != nil {
		l.t.Fatal(err)
	}
	return a
}

// try is get for use from other goroutines: it reports instead of failing.
func (l *lambda) try(ctx context.Context, method, path string, header ...string) (answer, error) {
	req, err := http.NewRequestWithContext(ctx, method, l.base+path, nil)
	if err != nil {
		return answer{}, err
	}
	req.Header.Set("X-Aws-Parameters-Secrets-Token", l.token)
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

func (l *lambda) upstreamCalls() int { return l.proxy.Count("GetSecretValue") }

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

// waitFor paces a polling loop. It is not synchronisation: the loop around
// it checks the condition and has its own deadline.
func waitFor(t *testing.T, d time.Duration) {
	select {
	case <-time.After(d):
	case <-t.Context().Done():
	}
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
func assertNoLeak(t *testing.T, l *lambda, markers []string, bodies ...string) {
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

// pollAnswer asks for path until done accepts an answer, for at most d.
func pollAnswer(t *testing.T, l *lambda, d time.Duration, path string, done func(answer) bool) answer {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		a := l.get("GET", path)
		if done(a) {
			return a
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s: still %d %s %q after %v", path, a.status, a.body, a.header.Get("Warning"), d)
		}
		waitFor(t, 50*time.Millisecond)
	}
}

func sm() *secretsmanager.Client { return upstreamtest.Client(e2e.moto.URL()) }

// pollOK calls cond until it is true or d has passed.
func pollOK(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		<-time.After(20 * time.Millisecond)
	}
	return true
}

// startOnPlatform is startLambda under a fake platform built with opts,
// also returning the command (for its pid).
func startOnPlatform(t *testing.T, opts extensiontest.Options, env ...string) (*lambda, *exec.Cmd) {
	t.Helper()
	return startBinary(t, binaryPath(t), opts, nil, env...)
}

// waitExit waits for the process to end on its own within d.
func (l *lambda) waitExit(d time.Duration) extensiontest.ExitResult {
	l.t.Helper()
	l.stopped = true
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	res, err := l.proc.Wait(ctx)
	if err != nil {
		l.t.Fatalf("the extension did not exit within %v: %v\n%s", d, err, l.output)
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

// serveLocal runs the binary in local mode on a free port, serving file
// with token, and returns the port once /health answers 200. A port taken
// between choosing and binding makes the process exit; then it tries another.
func serveLocal(t *testing.T, bin, file, token string) int {
	t.Helper()
	for range 3 {
		port := freePort(t)
		cmd := exec.Command(bin)
		cmd.Env = cleanEnv(
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
		if err := waitHealthy(port, exited, 15*time.Second); err != nil {
			stop()
			if errors.Is(err, errExited) {
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

// waitHealthy polls /health until it answers 200, the process exits or
// the deadline passes.
func waitHealthy(port int, exited <-chan struct{}, within time.Duration) error {
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
			return errExited
		case <-deadline.C:
			return fmt.Errorf("/health did not answer 200 within %v", within)
		case <-tick.C:
		}
	}
}

func randomToken(t *testing.T) string {
	t.Helper()
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

var errExited = errors.New("process exited")
