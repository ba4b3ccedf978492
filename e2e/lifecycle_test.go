package e2e

// The lifecycle as Lambda drives it: init with a prefetch, the first
// request served from memory, concurrent first requests, rotation, errors
// in the contract's shape, shutdown, invalid configuration and local mode.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/starfleet/starfleet-secrets/upstream/upstreamtest"
)

func TestFirstRequestIsServedFromMemory(t *testing.T) {
	resetMoto(t, starfleetSecret)
	l := start(t)
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

func TestConcurrentRequestsShareTheFirstFetch(t *testing.T) {
	resetMoto(t, starfleetSecret)
	const clients = 100
	l := start(t, withProxy(func(p *upstreamtest.Proxy) { p.Hold("GetSecretValue") }), withEnv("STARFLEET_SECRETS_FETCH_TIMEOUT=60s"))

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

func TestErrorsAreContractJSON(t *testing.T) {
	resetMoto(t, starfleetSecret)
	l := start(t)
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

func TestRotationReachesTheHandlerAfterTheTTL(t *testing.T) {
	resetMoto(t, starfleetSecret)
	const ttl = 3 * time.Second
	l := start(t, withEnv("STARFLEET_SECRETS_TTL=3s"))
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
	if !poll(t, ttl+10*time.Second, 100*time.Millisecond, func() bool {
		l.invoke()
		a = l.get("GET", "/secret/STARFLEET")
		if a.body != newValue && a.body != oldValue {
			t.Fatalf("unexpected answer %d %s", a.status, a.body)
		}
		return a.body == newValue
	}) {
		t.Fatalf("rotation not seen within TTL+10s; still %s", a.body)
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

func TestShutdownExitsCleanlyWithinTheDeadline(t *testing.T) {
	resetMoto(t, starfleetSecret)
	l := start(t)
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

func TestInvalidConfigurationIsReported(t *testing.T) {
	resetMoto(t, starfleetSecret)
	l := start(t, withEnv("STARFLEET_SECRETS_TTL=soon", "STARFLEET_SECRETS_PORT=0"))
	l.stopped = true
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	report, err := l.platform.WaitErrorReport(ctx)
	if err != nil {
		t.Fatalf("no init/error: %v\n%s", err, l.output)
	}
	if !report.Init || report.ErrorType != "Extension.ConfigInvalid" {
		t.Errorf("report init=%v type %q, want an init/error Extension.ConfigInvalid", report.Init, report.ErrorType)
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

func TestLocalModeServesAFileAndStopsOnSIGTERM(t *testing.T) {
	file := filepath.Join(t.TempDir(), "secret.json")
	if err := os.WriteFile(file, []byte(starfleetSecret), 0o600); err != nil {
		t.Fatal(err)
	}
	l := start(t, serving(file))
	if a := l.get("GET", "/secret/Plain"); a.status != 200 || a.body != `"plain-slice-Vb72Kd"` {
		t.Errorf("GET = %d %s", a.status, a.body)
	}
	if err := l.stop(10 * time.Second); err != nil {
		t.Errorf("exit after SIGTERM: %v\n%s", err, l.output)
	}
}

// TestNoSecretInDebugOutput runs a scenario with every kind of event at
// debug level and searches the whole output for any secret value.
func TestNoSecretInDebugOutput(t *testing.T) {
	resetMoto(t, starfleetSecret)
	l := start(t, withEnv("STARFLEET_SECRETS_TTL=1s"))
	l.waitInit()
	l.invoke()
	for _, path := range []string{"/secret/STARFLEET", "/secret/GitHubSyncWorker/org-a", "/secret/Missing", "/secret/Plain/nokey"} {
		l.get("GET", path)
	}
	l.get("GET", "/secret/STARFLEET", "X-Aws-Parameters-Secrets-Token", "wrong")
	l.get("GET", "/secret/STARFLEET", "Cache-Control", "no-cache")
	putSecret(t, `["array-secret-Lk9w"]`)
	// Once the TTL ends, the refetched secret is not an object: 502.
	var a answer
	if !poll(t, 15*time.Second, 100*time.Millisecond, func() bool {
		l.invoke()
		a = l.get("GET", "/secret/STARFLEET")
		return a.status == 502
	}) {
		t.Fatalf("array secret never answered 502; last %d %s", a.status, a.body)
	}
	if !strings.Contains(a.body, "SecretNotJSONObject") || strings.Contains(a.body, "Lk9w") {
		t.Errorf("not-an-object answer: %s", a.body)
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
