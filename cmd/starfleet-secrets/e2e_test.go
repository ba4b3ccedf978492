package main

// End-to-end tests: the real binary, built with the race detector, runs as a
// process against the fake Lambda platform (extensiontest) and the moto
// Secrets Manager emulator, reached through a counting proxy, exactly as
// Lambda would run it.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
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
)

// e2e holds what the whole test binary shares: moto and the built binary.
var e2e struct {
	moto   *cachetest.Moto
	binary string
}

func TestMain(m *testing.M) {
	os.Exit(cachetest.RunWithMoto(m, &e2e.moto))
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
	out, err := exec.Command("go", "build", "-race", "-o", bin, ".").CombinedOutput()
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
	"xoxb-e2e-slack-Q7d9Lm2v", "-----BEGIN KEY ORG-A Zp4kT8wq-----", "-----BEGIN KEY ORG-B Hn3rX5yc-----",
	"appid-Wc81", "plain-slice-Vb72Kd",
}

const starfleetSecret = `{
  "STARFLEET": {"SlackToken": "xoxb-e2e-slack-Q7d9Lm2v"},
  "GitHubSyncWorker": {
    "org-a": {"AppId": "appid-Wc81", "PrivateKey": "-----BEGIN KEY ORG-A Zp4kT8wq-----"},
    "org-b": {"AppId": 42, "PrivateKey": "-----BEGIN KEY ORG-B Hn3rX5yc-----"}
  },
  "Plain": "plain-slice-Vb72Kd"
}`

// lockedBuffer collects a process's output; the process writes while the
// test reads.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// lambda is one extension process under the fake platform.
type lambda struct {
	t        *testing.T
	platform *extensiontest.Server
	proxy    *cachetest.Proxy
	proc     *extensiontest.Process
	base     string // http://127.0.0.1:port
	token    string
	output   *lockedBuffer
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
	out, err := cachetest.Client(e2e.moto.URL()).CreateSecret(t.Context(), &secretsmanager.CreateSecretInput{
		Name: aws.String("Starfleet"), SecretString: aws.String(value),
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func putSecret(t *testing.T, value string) {
	t.Helper()
	_, err := cachetest.Client(e2e.moto.URL()).PutSecretValue(t.Context(), &secretsmanager.PutSecretValueInput{
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
func startLambdaWith(t *testing.T, prepare func(*cachetest.Proxy), env ...string) *lambda {
	t.Helper()
	l, _ := startBinary(t, binaryPath(t), extensiontest.Options{}, prepare, env...)
	return l
}

// startBinary starts bin as Lambda would, under a fake platform built with
// opts, with Secrets Manager behind a fresh counting proxy that prepare (if
// set) configures first. It returns the command too, for its pid.
func startBinary(t *testing.T, bin string, opts extensiontest.Options, prepare func(*cachetest.Proxy), env ...string) (*lambda, *exec.Cmd) {
	t.Helper()
	l := &lambda{
		t:        t,
		platform: extensiontest.NewServer(opts),
		proxy:    cachetest.NewProxy(e2e.moto.URL()),
		token:    "e2e-token-" + strconv.Itoa(os.Getpid()),
		output:   &lockedBuffer{},
	}
	t.Cleanup(l.platform.Close)
	t.Cleanup(l.proxy.Close)
	if prepare != nil {
		prepare(l.proxy)
	}
	port := freePort(t)
	l.base = fmt.Sprintf("http://127.0.0.1:%d", port)
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), cachetest.Env(l.proxy.URL())...)
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

func TestE2EFirstRequestIsServedFromMemory(t *testing.T) {
	resetMoto(t, starfleetSecret)
	l := startLambda(t)
	l.waitInit()
	if n := l.upstreamCalls(); n != 1 {
		t.Fatalf("GetSecretValue calls during init = %d, want 1", n)
	}
	l.invoke()
	for _, tt := range []struct {
		path string
		want string
	}{
		{"/secret/GitHubSyncWorker", rawSlice(t, starfleetSecret, "GitHubSyncWorker")},
		{"/secret/GitHubSyncWorker/org-a", rawSlice(t, starfleetSecret, "GitHubSyncWorker", "org-a")},
		{"/secret/GitHubSyncWorker/org-b", rawSlice(t, starfleetSecret, "GitHubSyncWorker", "org-b")},
		{"/secret/STARFLEET", rawSlice(t, starfleetSecret, "STARFLEET")},
		{"/secret/Plain", `"plain-slice-Vb72Kd"`},
	} {
		a := l.get("GET", tt.path)
		if a.status != 200 || a.body != tt.want {
			t.Errorf("GET %s = %d %q, want 200 %q", tt.path, a.status, a.body, tt.want)
		}
	}
	if n := l.upstreamCalls(); n != 1 {
		t.Errorf("GetSecretValue calls after the requests = %d, want 1 (served from memory)", n)
	}
	if res := l.shutdown(2 * time.Second); res.Code != 0 || res.Killed {
		t.Errorf("shutdown: %+v", res)
	}
}

func TestE2EConcurrentRequestsShareTheFirstFetch(t *testing.T) {
	resetMoto(t, starfleetSecret)
	const clients = 100
	l := startLambdaWith(t, func(p *cachetest.Proxy) { p.Hold("GetSecretValue") }, "STARFLEET_SECRETS_FETCH_TIMEOUT=60s")

	// The prefetch is held at the proxy; every request now has to wait on it.
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := l.proxy.WaitHeld(ctx, "GetSecretValue", 1); err != nil {
		t.Fatalf("prefetch never reached Secrets Manager: %v\n%s", err, l.output)
	}
	want := rawSlice(t, starfleetSecret, "GitHubSyncWorker")
	var sent, done sync.WaitGroup
	sent.Add(clients)
	results := make(chan string, clients)
	transport := &http.Transport{MaxConnsPerHost: 0, MaxIdleConnsPerHost: clients}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport}
	for range clients {
		done.Go(func() {
			var once sync.Once
			trace := &httptrace.ClientTrace{WroteRequest: func(httptrace.WroteRequestInfo) { once.Do(sent.Done) }}
			req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace), "GET", l.base+"/secret/GitHubSyncWorker", nil)
			req.Header.Set("X-Aws-Parameters-Secrets-Token", l.token)
			resp, err := client.Do(req)
			once.Do(sent.Done)
			if err != nil {
				results <- err.Error()
				return
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			results <- fmt.Sprintf("%d %s", resp.StatusCode, body)
		})
	}
	sent.Wait() // all requests are written while the fetch is still held
	if n := l.upstreamCalls(); n != 1 {
		t.Fatalf("GetSecretValue calls while held = %d, want 1", n)
	}
	l.proxy.Release("GetSecretValue")
	done.Wait()
	close(results)
	for r := range results {
		if r != "200 "+want {
			t.Fatalf("answer %q, want 200 and the slice", r)
		}
	}
	if n := l.upstreamCalls(); n != 1 {
		t.Errorf("GetSecretValue calls = %d, want exactly 1", n)
	}
}

func TestE2EErrorsAreContractJSON(t *testing.T) {
	resetMoto(t, starfleetSecret)
	l := startLambda(t)
	l.waitInit()
	l.invoke()
	for _, tt := range []struct {
		name, method, path string
		header             []string
		status             int
		code               string
	}{
		{"missing slice", "GET", "/secret/NoSuchWorker", nil, 404, "SliceNotFound"},
		{"missing key", "GET", "/secret/GitHubSyncWorker/org-z", nil, 404, "KeyNotFound"},
		{"missing token", "GET", "/secret/STARFLEET", []string{"X-Aws-Parameters-Secrets-Token", ""}, 403, "MissingToken"},
		{"wrong token", "GET", "/secret/STARFLEET", []string{"X-Aws-Parameters-Secrets-Token", "guess"}, 403, "InvalidToken"},
		{"post", "POST", "/secret/STARFLEET", nil, 405, "MethodNotAllowed"},
		{"unknown route", "GET", "/v2/secret", nil, 404, "NotFound"},
		{"forwarded", "GET", "/secret/STARFLEET", []string{"X-Forwarded-For", "203.0.113.9"}, 400, "ForwardedRequest"},
	} {
		a := l.get(tt.method, tt.path, tt.header...)
		var body struct{ Error, Message string }
		if err := json.Unmarshal([]byte(a.body), &body); err != nil || a.status != tt.status || body.Error != tt.code || body.Message == "" {
			t.Errorf("%s: %d %s, want %d %s", tt.name, a.status, a.body, tt.status, tt.code)
		}
		if ct := a.header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("%s: Content-Type %q", tt.name, ct)
		}
	}
}

func TestE2ERotationReachesTheHandlerAfterTheTTL(t *testing.T) {
	resetMoto(t, starfleetSecret)
	const ttl = 3 * time.Second
	l := startLambda(t, "STARFLEET_SECRETS_TTL=3s")
	l.waitInit()
	oldValue := rawSlice(t, starfleetSecret, "STARFLEET")

	rotated := strings.Replace(starfleetSecret, "xoxb-e2e-slack-Q7d9Lm2v", "xoxb-e2e-slack-ROTATED1", 1)
	putSecret(t, rotated)
	newValue := rawSlice(t, rotated, "STARFLEET")

	// Within the TTL the old value is served from memory.
	l.invoke()
	a := l.get("GET", "/secret/STARFLEET")
	age, _ := strconv.Atoi(a.header.Get("Age"))
	if time.Duration(age)*time.Second < ttl && a.body != oldValue {
		t.Fatalf("within the TTL (Age %d s) got %s, want the old value", age, a.body)
	}
	// Then, with no redeploy, the new one; never the old one again.
	deadline := time.Now().Add(ttl + 10*time.Second)
	for {
		l.invoke()
		a = l.get("GET", "/secret/STARFLEET")
		if a.body == newValue {
			break
		}
		if a.body != oldValue {
			t.Fatalf("unexpected answer %d %s", a.status, a.body)
		}
		if time.Now().After(deadline) {
			t.Fatalf("rotation not seen within TTL+10s; still %s", a.body)
		}
		waitFor(t, 100*time.Millisecond)
	}
	for range 3 {
		if a := l.get("GET", "/secret/STARFLEET"); a.body != newValue {
			t.Fatalf("old value came back: %s", a.body)
		}
	}
	if n := l.upstreamCalls(); n != 2 {
		t.Errorf("GetSecretValue calls = %d, want 2 (prefetch and one refresh)", n)
	}
}

// waitFor paces a polling loop. It is not synchronisation: the loop around
// it checks the condition and has its own deadline.
func waitFor(t *testing.T, d time.Duration) {
	select {
	case <-time.After(d):
	case <-t.Context().Done():
	}
}

func TestE2EShutdownExitsCleanlyWithinTheDeadline(t *testing.T) {
	resetMoto(t, starfleetSecret)
	l := startLambda(t)
	l.waitInit()
	l.invoke()
	l.get("GET", "/secret/STARFLEET")
	const deadline = 2 * time.Second
	res := l.shutdown(deadline)
	if res.Code != 0 || res.Killed {
		t.Fatalf("shutdown: %+v\n%s", res, l.output)
	}
	if res.Elapsed > deadline/2 {
		t.Errorf("shutdown took %v of its %v deadline", res.Elapsed, deadline)
	}
	if !strings.Contains(l.output.String(), `"event":"shutdown"`) {
		t.Errorf("no shutdown log line")
	}
}

func TestE2EInvalidConfigurationIsReported(t *testing.T) {
	resetMoto(t, starfleetSecret)
	l := startLambda(t, "STARFLEET_SECRETS_TTL=soon", "STARFLEET_SECRETS_PORT=0")
	l.stopped = true
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	report, err := l.platform.WaitInitError(ctx)
	if err != nil {
		t.Fatalf("no init/error: %v\n%s", err, l.output)
	}
	if report.ErrorType != "Extension.ConfigInvalid" {
		t.Errorf("error type %q", report.ErrorType)
	}
	for _, want := range []string{"STARFLEET_SECRETS_TTL", "STARFLEET_SECRETS_PORT"} {
		if !bytes.Contains(report.Body, []byte(want)) {
			t.Errorf("init/error body does not name %s: %s", want, report.Body)
		}
	}
	res, err := l.proc.Wait(ctx)
	if err != nil || res.Code == 0 {
		t.Errorf("exit: %+v %v, want non-zero", res, err)
	}
}

func TestE2ELocalModeServesAFileAndStopsOnSIGTERM(t *testing.T) {
	file := filepath.Join(t.TempDir(), "secret.json")
	if err := os.WriteFile(file, []byte(starfleetSecret), 0o600); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	out := &lockedBuffer{}
	cmd := exec.Command(binaryPath(t))
	cmd.Env = append(os.Environ(), "AWS_LAMBDA_RUNTIME_API=", "STARFLEET_SECRETS_FILE="+file, "STARFLEET_SECRETS_TOKEN=local",
		"STARFLEET_SECRETS_PORT="+strconv.Itoa(port), "GORACE=halt_on_error=1 exitcode=66 atexit_sleep_ms=0")
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	l := &lambda{t: t, base: fmt.Sprintf("http://127.0.0.1:%d", port), token: "local"}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if resp, err := http.Get(l.base + "/health"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("not healthy in 30s:\n%s", out)
		}
		waitFor(t, 20*time.Millisecond)
	}
	if a := l.get("GET", "/secret/Plain"); a.status != 200 || a.body != `"plain-slice-Vb72Kd"` {
		t.Errorf("GET = %d %s", a.status, a.body)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("exit after SIGTERM: %v\n%s", err, out)
		}
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		t.Fatal("did not exit after SIGTERM")
	}
}

// TestE2ENoSecretInDebugOutput runs a scenario with every kind of event at
// debug level and searches the whole output for any secret value.
func TestE2ENoSecretInDebugOutput(t *testing.T) {
	resetMoto(t, starfleetSecret)
	l := startLambda(t, "STARFLEET_SECRETS_TTL=1s")
	l.waitInit()
	l.invoke()
	for _, path := range []string{"/secret/STARFLEET", "/secret/GitHubSyncWorker/org-a", "/secret/Missing", "/secret/Plain/nokey"} {
		l.get("GET", path)
	}
	l.get("GET", "/secret/STARFLEET", "X-Aws-Parameters-Secrets-Token", "wrong")
	l.get("GET", "/secret/STARFLEET", "Cache-Control", "no-cache")
	putSecret(t, `["array-secret-Lk9w"]`)
	// Once the TTL ends, the refetched secret is not an object: 502.
	deadline := time.Now().Add(15 * time.Second)
	for {
		l.invoke()
		a := l.get("GET", "/secret/STARFLEET")
		if a.status == 502 {
			if !strings.Contains(a.body, "SecretNotJSONObject") || strings.Contains(a.body, "Lk9w") {
				t.Errorf("not-an-object answer: %s", a.body)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("array secret never answered 502; last %d %s", a.status, a.body)
		}
		waitFor(t, 100*time.Millisecond)
	}
	if res := l.shutdown(2 * time.Second); res.Code != 0 {
		t.Errorf("shutdown: %+v", res)
	}
	out := l.output.String()
	if !strings.Contains(out, `"level":"DEBUG"`) || strings.Count(out, `"event":"upstream_fetch"`) < 2 {
		t.Fatalf("expected log output, got:\n%s", out)
	}
	for _, v := range append(secretValues, "array-secret-Lk9w", l.token) {
		if strings.Contains(out, v) {
			t.Errorf("output contains secret %q:\n%s", v, out)
		}
	}
}
