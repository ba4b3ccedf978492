package extensiontest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/starfleet/starfleet-secrets/extension"
	"github.com/starfleet/starfleet-secrets/extension/extensiontest"
)

// helperEnv selects what the re-executed test binary does instead of
// running the tests: it becomes an extension process.
const helperEnv = "EXTENSIONTEST_HELPER"

func TestMain(m *testing.M) {
	if mode := os.Getenv(helperEnv); mode != "" {
		os.Exit(helper(mode))
	}
	os.Exit(m.Run())
}

// helper is a minimal extension: it registers, runs the event loop until
// SHUTDOWN, then exits ("polite") or hangs until killed ("stubborn").
func helper(mode string) int {
	ctx := context.Background()
	c := extension.NewClient(os.Getenv("AWS_LAMBDA_RUNTIME_API"), nil)
	if _, err := c.Register(ctx, "helper-"+mode); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	if _, err := c.Loop(ctx, nil); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	switch mode {
	case "polite":
		return 0
	case "stubborn":
		// Hang like a wedged extension. A read from a pipe nobody writes to
		// blocks for good without tripping the runtime's deadlock detector,
		// which select {} would.
		r, w, err := os.Pipe()
		if err != nil {
			return 4
		}
		_, _ = r.Read(make([]byte, 1))
		runtime.KeepAlive(w)
		return 5
	default:
		fmt.Fprintf(os.Stderr, "unknown %s %q\n", helperEnv, mode)
		return 6
	}
}

// call sends one raw request to the fake and returns the status and the
// errorType of the answer, if any.
func call(t *testing.T, srv *extensiontest.Server, method, path string, header map[string]string, body string) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequestWithContext(extensiontest.Context(t), method,
		"http://"+srv.RuntimeAPI()+"/2020-01-01/extension"+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", method, path, err)
	}
	var e struct {
		ErrorType string `json:"errorType"`
	}
	_ = json.Unmarshal(raw, &e)
	return resp.StatusCode, e.ErrorType, resp.Header
}

// register registers name with the fake and returns its identifier.
func register(t *testing.T, srv *extensiontest.Server, name string) string {
	t.Helper()
	code, typ, h := call(t, srv, "POST", "/register",
		map[string]string{"Lambda-Extension-Name": name}, `{"events":["INVOKE","SHUTDOWN"]}`)
	if code != http.StatusOK {
		t.Fatalf("register %s: %d %s", name, code, typ)
	}
	id := h.Get("Lambda-Extension-Identifier")
	if id == "" {
		t.Fatalf("register %s: no identifier", name)
	}
	return id
}

func TestListensOnLoopback(t *testing.T) {
	srv := extensiontest.NewTestServer(t, extensiontest.Options{})
	if api := srv.RuntimeAPI(); !strings.HasPrefix(api, "127.0.0.1:") {
		t.Errorf("RuntimeAPI = %q, want 127.0.0.1:port", api)
	}
}

func TestRegisterValidation(t *testing.T) {
	srv := extensiontest.NewTestServer(t, extensiontest.Options{})
	name := map[string]string{"Lambda-Extension-Name": "ext"}
	tests := []struct {
		desc     string
		header   map[string]string
		body     string
		wantCode int
		wantType string
	}{
		{"missing name", nil, `{"events":["INVOKE"]}`, 400, "Extension.InvalidExtensionName"},
		{"bad json", name, `{"events":`, 400, "InvalidRequestFormat"},
		{"bad event", name, `{"events":["INVOKE","LOGS"]}`, 400, "Extension.InvalidEventType"},
	}
	for _, tt := range tests {
		code, typ, _ := call(t, srv, "POST", "/register", tt.header, tt.body)
		if code != tt.wantCode || typ != tt.wantType {
			t.Errorf("%s: %d %q, want %d %q", tt.desc, code, typ, tt.wantCode, tt.wantType)
		}
	}
	if n := len(srv.Registrations()); n != 0 {
		t.Errorf("%d registrations after rejected calls", n)
	}

	register(t, srv, "ext")
	code, typ, _ := call(t, srv, "POST", "/register", name, `{"events":["SHUTDOWN"]}`)
	if code != 403 || typ != "Extension.InvalidExtensionState" {
		t.Errorf("duplicate name: %d %q, want 403 Extension.InvalidExtensionState", code, typ)
	}
}

func TestIdentifierRequired(t *testing.T) {
	srv := extensiontest.NewTestServer(t, extensiontest.Options{})
	register(t, srv, "ext")
	errType := map[string]string{"Lambda-Extension-Function-Error-Type": "Extension.X"}
	unknown := map[string]string{
		"Lambda-Extension-Identifier":          "00000000-0000-4000-8000-000000000000",
		"Lambda-Extension-Function-Error-Type": "Extension.X",
	}
	for _, ep := range []struct{ method, path string }{
		{"GET", "/event/next"},
		{"POST", "/init/error"},
		{"POST", "/exit/error"},
	} {
		if code, typ, _ := call(t, srv, ep.method, ep.path, errType, "{}"); code != 403 || typ != "Extension.MissingExtensionIdentifier" {
			t.Errorf("%s without identifier: %d %q, want 403 Extension.MissingExtensionIdentifier", ep.path, code, typ)
		}
		if code, typ, _ := call(t, srv, ep.method, ep.path, unknown, "{}"); code != 403 || typ != "Extension.UnknownExtensionIdentifier" {
			t.Errorf("%s with unknown identifier: %d %q, want 403 Extension.UnknownExtensionIdentifier", ep.path, code, typ)
		}
	}
	if n := len(srv.ErrorReports()); n != 0 {
		t.Errorf("%d error reports recorded from rejected calls", n)
	}
}

func TestErrorReportNeedsType(t *testing.T) {
	srv := extensiontest.NewTestServer(t, extensiontest.Options{})
	id := register(t, srv, "ext")
	for _, path := range []string{"/init/error", "/exit/error"} {
		code, typ, _ := call(t, srv, "POST", path, map[string]string{"Lambda-Extension-Identifier": id}, "{}")
		if code != 400 || typ != "Extension.MissingHeader" {
			t.Errorf("%s without error type: %d %q, want 400 Extension.MissingHeader", path, code, typ)
		}
	}
	code, _, _ := call(t, srv, "POST", "/exit/error", map[string]string{
		"Lambda-Extension-Identifier":          id,
		"Lambda-Extension-Function-Error-Type": "Extension.Crash",
	}, `{"errorMessage":"m"}`)
	if code != http.StatusAccepted {
		t.Errorf("exit/error: %d, want 202", code)
	}
	if got := srv.ErrorReports(); len(got) != 1 || got[0].Init || got[0].ErrorType != "Extension.Crash" || string(got[0].Body) != `{"errorMessage":"m"}` {
		t.Errorf("ErrorReports = %+v", got)
	}
}

func TestRoutes(t *testing.T) {
	srv := extensiontest.NewTestServer(t, extensiontest.Options{})
	if code, _, _ := call(t, srv, "GET", "/nope", nil, ""); code != http.StatusNotFound {
		t.Errorf("unknown route: %d, want 404", code)
	}
	code, _, h := call(t, srv, "GET", "/register", nil, "")
	if code != http.StatusMethodNotAllowed || h.Get("Allow") != "POST" {
		t.Errorf("GET /register: %d Allow=%q, want 405 Allow=POST", code, h.Get("Allow"))
	}
	if code, _, _ := call(t, srv, "POST", "/event/next", nil, ""); code != http.StatusMethodNotAllowed {
		t.Errorf("POST /event/next: %d, want 405", code)
	}
}

func TestRegistrationClosesAfterInit(t *testing.T) {
	ctx := extensiontest.Context(t)
	srv := extensiontest.NewTestServer(t, extensiontest.Options{})
	c := extension.NewClient(srv.RuntimeAPI(), nil)
	if _, err := c.Register(ctx, "first"); err != nil {
		t.Fatalf("Register: %v", err)
	}
	// init/error is fine during init.
	if err := c.InitError(ctx, "Extension.Test", errors.New("during init")); err != nil {
		t.Fatalf("InitError during init: %v", err)
	}

	done := make(chan error, 1)
	go func() {
		_, err := c.Next(ctx)
		done <- err
	}()
	if _, err := srv.Invoke(ctx, time.Second); err != nil {
		t.Fatalf("Invoke: %v", err)
	}
	if err := <-done; err != nil {
		t.Fatalf("Next: %v", err)
	}

	code, typ, _ := call(t, srv, "POST", "/register",
		map[string]string{"Lambda-Extension-Name": "late"}, `{"events":["INVOKE"]}`)
	if code != 403 || typ != "Extension.RegistrationClosed" {
		t.Errorf("register after init: %d %q, want 403 Extension.RegistrationClosed", code, typ)
	}
	var apiErr *extension.APIError
	if err := c.InitError(ctx, "Extension.Test", errors.New("too late")); !errors.As(err, &apiErr) || apiErr.StatusCode != 403 {
		t.Errorf("InitError after init: %v, want *APIError 403", err)
	}
}

func TestNoEventAfterShutdown(t *testing.T) {
	ctx := extensiontest.Context(t)
	srv := extensiontest.NewTestServer(t, extensiontest.Options{})
	c := extension.NewClient(srv.RuntimeAPI(), nil)
	if _, err := c.Register(ctx, "ext"); err != nil {
		t.Fatalf("Register: %v", err)
	}
	go func() { _, _ = c.Next(ctx) }()
	if _, err := srv.Shutdown(ctx, "", time.Second); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}

	done := make(chan error, 1)
	go func() {
		_, err := c.Next(ctx)
		done <- err
	}()
	if err := srv.WaitNextCalls(ctx, 2); err != nil {
		t.Fatalf("WaitNextCalls: %v", err)
	}
	if _, err := srv.Invoke(ctx, time.Second); !errors.Is(err, extensiontest.ErrShutdown) {
		t.Errorf("Invoke after SHUTDOWN: %v, want ErrShutdown", err)
	}
	if err := srv.WaitIdle(ctx); !errors.Is(err, extensiontest.ErrShutdown) {
		t.Errorf("WaitIdle after SHUTDOWN: %v, want ErrShutdown", err)
	}
	select {
	case err := <-done:
		t.Fatalf("Next after SHUTDOWN returned %v; want it to block until Close", err)
	default:
	}

	srv.Close()
	var apiErr *extension.APIError
	if err := <-done; !errors.As(err, &apiErr) || apiErr.StatusCode != 500 || apiErr.ErrorType != "Extension.ServerClosed" {
		t.Errorf("Next at Close: %v, want *APIError 500 Extension.ServerClosed", err)
	}
	if _, err := srv.WaitRegistered(ctx); err != nil {
		t.Errorf("WaitRegistered after Close: %v; want the recorded registration", err)
	}
}

func TestWaitHonoursContext(t *testing.T) {
	srv := extensiontest.NewTestServer(t, extensiontest.Options{})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := srv.WaitIdle(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("WaitIdle: %v, want context.Canceled", err)
	}
	if _, err := srv.Invoke(ctx, time.Second); !errors.Is(err, context.Canceled) {
		t.Errorf("Invoke: %v, want context.Canceled", err)
	}
	if _, err := srv.WaitErrorReport(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("WaitErrorReport: %v, want context.Canceled", err)
	}
}

// startHelper runs this test binary as an extension in the given mode.
func startHelper(t *testing.T, srv *extensiontest.Server, mode string) (*extensiontest.Process, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+mode)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	p, err := srv.Start(cmd)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill() // in case the test failed before it ended
		_, _ = p.Wait(context.Background())
	})
	return p, &stderr
}

func TestStopWithShutdownKillsStubbornProcess(t *testing.T) {
	ctx := extensiontest.Context(t)
	srv := extensiontest.NewTestServer(t, extensiontest.Options{})
	p, stderr := startHelper(t, srv, "stubborn")

	if _, err := srv.WaitRegistered(ctx); err != nil {
		t.Fatalf("WaitRegistered: %v", err)
	}
	if _, err := srv.Invoke(ctx, time.Second); err != nil {
		t.Fatalf("Invoke: %v", err)
	}
	if err := srv.WaitIdle(ctx); err != nil {
		t.Fatalf("WaitIdle: %v", err)
	}

	const deadline = 300 * time.Millisecond
	res, err := srv.StopWithShutdown(ctx, p, "spindown", deadline)
	if err != nil {
		t.Fatalf("StopWithShutdown: %v", err)
	}
	if !res.Killed || res.Code != -1 {
		t.Errorf("result = %+v, want Killed with code -1; stderr:\n%s", res, stderr)
	}
	if res.Elapsed < deadline || res.Elapsed > deadline+5*time.Second {
		t.Errorf("Elapsed = %v, want about %v", res.Elapsed, deadline)
	}
	if got, err := p.Wait(ctx); err != nil || !got.Killed {
		t.Errorf("Wait after kill = %+v, %v; want Killed", got, err)
	}
}

func TestStopWithShutdownPoliteProcess(t *testing.T) {
	ctx := extensiontest.Context(t)
	srv := extensiontest.NewTestServer(t, extensiontest.Options{})
	p, stderr := startHelper(t, srv, "polite")

	reg, err := srv.WaitRegistered(ctx)
	if err != nil {
		t.Fatalf("WaitRegistered: %v", err)
	}
	if reg.Name != "helper-polite" {
		t.Errorf("registered name = %q", reg.Name)
	}
	if err := srv.WaitIdle(ctx); err != nil {
		t.Fatalf("WaitIdle: %v", err)
	}

	// A generous deadline: the helper exits as soon as it sees SHUTDOWN.
	res, err := srv.StopWithShutdown(ctx, p, "spindown", 20*time.Second)
	if err != nil {
		t.Fatalf("StopWithShutdown: %v", err)
	}
	if res.Killed || res.Code != 0 {
		t.Errorf("result = %+v, want exit 0, not killed; stderr:\n%s", res, stderr)
	}
}

func TestProcessExitBeforeShutdown(t *testing.T) {
	ctx := extensiontest.Context(t)
	srv := extensiontest.NewTestServer(t, extensiontest.Options{RegisterStatus: http.StatusInternalServerError})
	// Registration fails, so the helper exits 2 without reaching next;
	// StopWithShutdown must notice the exit instead of waiting for the
	// deadline.
	p, _ := startHelper(t, srv, "polite")
	res, err := srv.StopWithShutdown(ctx, p, "failure", time.Hour)
	if err != nil {
		t.Fatalf("StopWithShutdown: %v", err)
	}
	if res.Killed || res.Code != 2 {
		t.Errorf("result = %+v, want exit 2, not killed", res)
	}
}

func TestManagedInstancesRefusesInvoke(t *testing.T) {
	for _, opts := range []extensiontest.Options{{Model: extension.ManagedInstances}, {RefuseInvoke: true}} {
		s := extensiontest.NewServer(opts)
		c := extension.NewClient(s.RuntimeAPI(), nil)
		_, err := c.Register(t.Context(), "mi", extension.Invoke, extension.Shutdown)
		var apiErr *extension.APIError
		if !errors.As(err, &apiErr) || apiErr.StatusCode != 403 || apiErr.ErrorType != "Extension.InvalidEventType" {
			t.Fatalf("%+v: register for INVOKE: %v, want 403 Extension.InvalidEventType", opts, err)
		}
		if len(s.Registrations()) != 0 {
			t.Fatal("a refused registration was recorded")
		}
		// Registering again for SHUTDOWN alone is accepted.
		if _, err := c.Register(t.Context(), "mi", extension.Shutdown); err != nil {
			t.Fatalf("%+v: register for SHUTDOWN: %v", opts, err)
		}
		// Invocations reach no extension; SHUTDOWN does.
		next := make(chan extension.Event, 1)
		go func() { ev, _ := c.Next(context.Background()); next <- ev }()
		if err := s.WaitIdle(t.Context()); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Invoke(t.Context(), time.Second); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Shutdown(t.Context(), "spindown", time.Second); err != nil {
			t.Fatal(err)
		}
		if ev := <-next; ev.EventType != extension.Shutdown {
			t.Errorf("first event %+v, want SHUTDOWN", ev)
		}
		s.Close()
	}
}

func TestSnapStartServesContainerCredentials(t *testing.T) {
	s := extensiontest.NewServer(extensiontest.Options{Model: extension.SnapStart})
	defer s.Close()
	uri, token := s.ContainerCredentials()
	get := func(auth string) int {
		req, _ := http.NewRequest("GET", uri, nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var creds struct{ AccessKeyId, SecretAccessKey, Token, Expiration string }
		if resp.StatusCode == 200 && (json.NewDecoder(resp.Body).Decode(&creds) != nil || creds.AccessKeyId == "" || creds.Token == "") {
			t.Errorf("credentials %+v", creds)
		}
		return resp.StatusCode
	}
	if st := get(""); st != 401 {
		t.Errorf("no token: %d", st)
	}
	if st := get(token); st != 200 {
		t.Errorf("token: %d", st)
	}
	if served, refused := s.CredentialRequests(); served != 1 || refused != 1 {
		t.Errorf("served %d, refused %d", served, refused)
	}
	// The process Lambda starts has the token and the endpoint, and no
	// session token or static key.
	cmd := exec.Command("env")
	cmd.Env = []string{"AWS_SESSION_TOKEN=session", "AWS_ACCESS_KEY_ID=AKID"}
	var out bytes.Buffer
	cmd.Stdout = &out
	p, err := s.Start(cmd)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Wait(t.Context()); err != nil {
		t.Fatal(err)
	}
	env := out.String()
	for _, want := range []string{"AWS_LAMBDA_INITIALIZATION_TYPE=snap-start\n", "AWS_CONTAINER_AUTHORIZATION_TOKEN=" + token + "\n",
		"AWS_CONTAINER_CREDENTIALS_FULL_URI=" + uri + "\n", "AWS_SESSION_TOKEN=\n", "AWS_ACCESS_KEY_ID=\n"} {
		if !strings.Contains(env, want) {
			t.Errorf("environment lacks %q:\n%s", want, env)
		}
	}
}
