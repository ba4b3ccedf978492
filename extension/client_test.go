package extension_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/starfleet/starfleet-secrets/extension"
	"github.com/starfleet/starfleet-secrets/extension/extensiontest"
)

// registered returns a fake and a client registered with it.
func registered(t *testing.T) (*extensiontest.Server, *extension.Client) {
	t.Helper()
	srv := extensiontest.NewTestServer(t, extensiontest.Options{})
	c := extension.NewClient(srv.RuntimeAPI(), nil)
	if _, err := c.Register(extensiontest.Context(t), "starfleet-secrets"); err != nil {
		t.Fatalf("Register: %v", err)
	}
	return srv, c
}

type nextResult struct {
	ev  extension.Event
	err error
}

// goNext calls Next in a goroutine; the answer arrives on the channel.
func goNext(ctx context.Context, c *extension.Client) <-chan nextResult {
	ch := make(chan nextResult, 1)
	go func() {
		ev, err := c.Next(ctx)
		ch <- nextResult{ev, err}
	}()
	return ch
}

func receive(t *testing.T, ch <-chan nextResult) nextResult {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-extensiontest.Context(t).Done():
		t.Fatal("Next did not return")
		return nextResult{}
	}
}

func TestRegister(t *testing.T) {
	ctx := extensiontest.Context(t)
	srv := extensiontest.NewTestServer(t, extensiontest.Options{FunctionName: "warp-core", Handler: "bootstrap"})
	c := extension.NewClient(srv.RuntimeAPI(), nil)
	if id := c.ExtensionID(); id != "" {
		t.Fatalf("ExtensionID before Register = %q, want empty", id)
	}

	reg, err := c.Register(ctx, "starfleet-secrets")
	if err != nil {
		t.Fatalf("Register: %v", err)
	}
	want := extension.Registration{
		FunctionName:    "warp-core",
		FunctionVersion: "$LATEST",
		Handler:         "bootstrap",
		AccountID:       "123456789012",
	}
	if reg != want {
		t.Errorf("Register = %+v, want %+v", reg, want)
	}

	got, err := srv.WaitRegistered(ctx)
	if err != nil {
		t.Fatalf("WaitRegistered: %v", err)
	}
	if got.Name != "starfleet-secrets" {
		t.Errorf("registered name = %q, want starfleet-secrets", got.Name)
	}
	if got.ID == "" || got.ID != c.ExtensionID() {
		t.Errorf("registered ID = %q, client ExtensionID = %q; want equal and non-empty", got.ID, c.ExtensionID())
	}
	if want := []string{"INVOKE", "SHUTDOWN"}; !reflect.DeepEqual(got.Events, want) {
		t.Errorf("registered events = %q, want %q", got.Events, want)
	}
}

func TestRegisterEvents(t *testing.T) {
	ctx := extensiontest.Context(t)
	srv := extensiontest.NewTestServer(t, extensiontest.Options{})
	c := extension.NewClient(srv.RuntimeAPI(), nil)
	if _, err := c.Register(ctx, "shutdown-only", extension.Shutdown); err != nil {
		t.Fatalf("Register: %v", err)
	}
	got, err := srv.WaitRegistered(ctx)
	if err != nil {
		t.Fatalf("WaitRegistered: %v", err)
	}
	if want := []string{"SHUTDOWN"}; !reflect.DeepEqual(got.Events, want) {
		t.Errorf("registered events = %q, want %q", got.Events, want)
	}
}

func TestNextBeforeRegister(t *testing.T) {
	srv := extensiontest.NewTestServer(t, extensiontest.Options{})
	c := extension.NewClient(srv.RuntimeAPI(), nil)
	if _, err := c.Next(extensiontest.Context(t)); err == nil {
		t.Fatal("Next before Register succeeded")
	}
	if n := srv.NextCalls(); n != 0 {
		t.Errorf("NextCalls = %d, want 0: the client should not call unregistered", n)
	}
}

func TestNextBlocksUntilInvoke(t *testing.T) {
	ctx := extensiontest.Context(t)
	srv, c := registered(t)

	ch := goNext(ctx, c)
	if err := srv.WaitIdle(ctx); err != nil {
		t.Fatalf("WaitIdle: %v", err)
	}
	// The call has reached the fake and nothing was delivered: it must
	// still be waiting.
	select {
	case r := <-ch:
		t.Fatalf("Next returned before any event: %+v, %v", r.ev, r.err)
	default:
	}

	before := time.Now()
	sent, err := srv.Invoke(ctx, 3*time.Second)
	if err != nil {
		t.Fatalf("Invoke: %v", err)
	}
	r := receive(t, ch)
	if r.err != nil {
		t.Fatalf("Next: %v", r.err)
	}
	if !reflect.DeepEqual(r.ev, sent) {
		t.Errorf("Next = %+v, want the event sent %+v", r.ev, sent)
	}
	ev := r.ev
	if ev.EventType != extension.Invoke {
		t.Errorf("EventType = %q, want INVOKE", ev.EventType)
	}
	if ev.RequestID == "" {
		t.Error("RequestID is empty")
	}
	if want := "arn:aws:lambda:us-east-1:123456789012:function:starfleet-test"; ev.InvokedFunctionArn != want {
		t.Errorf("InvokedFunctionArn = %q, want %q", ev.InvokedFunctionArn, want)
	}
	if ev.Tracing == nil || ev.Tracing.Type != "X-Amzn-Trace-Id" || !strings.HasPrefix(ev.Tracing.Value, "Root=1-") {
		t.Errorf("Tracing = %+v, want an X-Amzn-Trace-Id", ev.Tracing)
	}
	// deadlineMs has millisecond resolution.
	if d := ev.Deadline(); d.Before(before.Add(3*time.Second).Add(-time.Millisecond)) || d.After(time.Now().Add(3*time.Second)) {
		t.Errorf("Deadline = %v, want about 3s after %v", d, before)
	}
	if ev.ShutdownReason != "" {
		t.Errorf("ShutdownReason = %q on INVOKE", ev.ShutdownReason)
	}

	ch = goNext(ctx, c)
	sent, err = srv.Shutdown(ctx, "timeout", 2*time.Second)
	if err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	r = receive(t, ch)
	if r.err != nil {
		t.Fatalf("Next: %v", r.err)
	}
	if !reflect.DeepEqual(r.ev, sent) {
		t.Errorf("Next = %+v, want the event sent %+v", r.ev, sent)
	}
	if r.ev.EventType != extension.Shutdown || r.ev.ShutdownReason != "timeout" || r.ev.DeadlineMs == 0 {
		t.Errorf("Next = %+v, want SHUTDOWN for timeout with a deadline", r.ev)
	}
	if r.ev.RequestID != "" || r.ev.Tracing != nil {
		t.Errorf("SHUTDOWN carries invoke fields: %+v", r.ev)
	}
	if n := srv.NextCalls(); n != 2 {
		t.Errorf("NextCalls = %d, want 2", n)
	}
}

func TestLoop(t *testing.T) {
	ctx := extensiontest.Context(t)
	srv, c := registered(t)

	type loopResult struct {
		ev  extension.Event
		err error
	}
	done := make(chan loopResult, 1)
	var invoked []extension.Event // written by onInvoke, read after Loop returns
	go func() {
		ev, err := c.Loop(ctx, func(_ context.Context, ev extension.Event) {
			invoked = append(invoked, ev)
			// onInvoke runs before the next Next: the fake has seen exactly
			// one next call per invoke so far.
			if n := srv.NextCalls(); n != len(invoked) {
				t.Errorf("during invoke %d: NextCalls = %d, want %d", len(invoked), n, len(invoked))
			}
		})
		done <- loopResult{ev, err}
	}()

	var sent []extension.Event
	for range 3 {
		ev, err := srv.Invoke(ctx, time.Second)
		if err != nil {
			t.Fatalf("Invoke: %v", err)
		}
		sent = append(sent, ev)
	}
	shutdown, err := srv.Shutdown(ctx, "spindown", time.Second)
	if err != nil {
		t.Fatalf("Shutdown: %v", err)
	}

	var r loopResult
	select {
	case r = <-done:
	case <-ctx.Done():
		t.Fatal("Loop did not return after SHUTDOWN")
	}
	if r.err != nil {
		t.Fatalf("Loop: %v", r.err)
	}
	if !reflect.DeepEqual(r.ev, shutdown) {
		t.Errorf("Loop = %+v, want %+v", r.ev, shutdown)
	}
	if !reflect.DeepEqual(invoked, sent) {
		t.Errorf("onInvoke got %+v, want %+v", invoked, sent)
	}
}

func TestLoopNextError(t *testing.T) {
	srv, c := registered(t)
	srv.FailNext(http.StatusInternalServerError)
	_, err := c.Loop(extensiontest.Context(t), func(context.Context, extension.Event) {
		t.Error("onInvoke called")
	})
	var apiErr *extension.APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusInternalServerError {
		t.Fatalf("Loop error = %v, want a wrapped *APIError with status 500", err)
	}
}

func TestNextHonoursContext(t *testing.T) {
	ctx := extensiontest.Context(t)
	srv, c := registered(t)

	nextCtx, cancel := context.WithCancel(ctx)
	ch := goNext(nextCtx, c)
	if err := srv.WaitIdle(ctx); err != nil {
		t.Fatalf("WaitIdle: %v", err)
	}
	cancel()
	r := receive(t, ch)
	if !errors.Is(r.err, context.Canceled) {
		t.Fatalf("Next after cancel: %v, want context.Canceled", r.err)
	}

	// A new call replaces the abandoned one and gets the next event.
	ch = goNext(ctx, c)
	if err := srv.WaitNextCalls(ctx, 2); err != nil {
		t.Fatalf("WaitNextCalls: %v", err)
	}
	sent, err := srv.Invoke(ctx, time.Second)
	if err != nil {
		t.Fatalf("Invoke: %v", err)
	}
	r = receive(t, ch)
	if r.err != nil || r.ev.RequestID != sent.RequestID {
		t.Fatalf("Next = %+v, %v; want request %s", r.ev, r.err, sent.RequestID)
	}
}

func TestErrorReports(t *testing.T) {
	ctx := extensiontest.Context(t)
	srv, c := registered(t)

	check := func(name string, got extensiontest.ErrorReport, wantType, wantMsg string) {
		t.Helper()
		if got.ErrorType != wantType {
			t.Errorf("%s type = %q, want %q", name, got.ErrorType, wantType)
		}
		var body map[string]any
		if err := json.Unmarshal(got.Body, &body); err != nil {
			t.Fatalf("%s body %q: %v", name, got.Body, err)
		}
		want := map[string]any{"errorMessage": wantMsg, "errorType": wantType, "stackTrace": []any{}}
		if !reflect.DeepEqual(body, want) {
			t.Errorf("%s body = %s, want %v", name, got.Body, want)
		}
	}

	if err := c.InitError(ctx, "Extension.ConfigInvalid", errors.New("no secrets configured")); err != nil {
		t.Fatalf("InitError: %v", err)
	}
	rep, err := srv.WaitErrorReport(ctx)
	if err != nil {
		t.Fatalf("WaitErrorReport: %v", err)
	}
	if !rep.Init {
		t.Errorf("first report is an exit/error, want init/error")
	}
	check("init/error", rep, "Extension.ConfigInvalid", "no secrets configured")

	if err := c.ExitError(ctx, "Extension.Crash", errors.New("warp core breach")); err != nil {
		t.Fatalf("ExitError: %v", err)
	}
	reps := srv.ErrorReports()
	if len(reps) != 2 || !reps[0].Init || reps[1].Init {
		t.Fatalf("ErrorReports = %+v, want one init/error then one exit/error", reps)
	}
	check("exit/error", reps[1], "Extension.Crash", "warp core breach")

	if err := c.ExitError(ctx, "", errors.New("x")); err == nil {
		t.Error("ExitError with empty type succeeded")
	}
}

func TestRegisterAPIError(t *testing.T) {
	srv := extensiontest.NewTestServer(t, extensiontest.Options{RegisterStatus: http.StatusInternalServerError})
	c := extension.NewClient(srv.RuntimeAPI(), nil)
	_, err := c.Register(extensiontest.Context(t), "starfleet-secrets")
	var apiErr *extension.APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("Register error = %v, want *APIError", err)
	}
	if apiErr.Op != "register" || apiErr.StatusCode != 500 || apiErr.ErrorType != "InternalServerError" || apiErr.Message == "" {
		t.Errorf("APIError = %+v", apiErr)
	}
	if !strings.Contains(err.Error(), "500") || !strings.Contains(err.Error(), "register") {
		t.Errorf("error %q lacks status or endpoint", err)
	}
	if id := c.ExtensionID(); id != "" {
		t.Errorf("ExtensionID after failed Register = %q", id)
	}
}

func TestFailNext(t *testing.T) {
	ctx := extensiontest.Context(t)
	srv, c := registered(t)

	srv.FailNext(http.StatusServiceUnavailable)
	_, err := c.Next(ctx)
	var apiErr *extension.APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("Next error = %v, want *APIError", err)
	}
	if apiErr.Op != "event/next" || apiErr.StatusCode != http.StatusServiceUnavailable || apiErr.ErrorType != "ServiceUnavailable" {
		t.Errorf("APIError = %+v", apiErr)
	}

	// Only once: the following call works, and a waiting call can be failed.
	ch := goNext(ctx, c)
	if err := srv.WaitIdle(ctx); err != nil {
		t.Fatalf("WaitIdle: %v", err)
	}
	srv.FailNext(http.StatusInternalServerError)
	if r := receive(t, ch); !errors.As(r.err, &apiErr) || apiErr.StatusCode != 500 {
		t.Fatalf("waiting Next = %v, want *APIError 500", r.err)
	}
	ch = goNext(ctx, c)
	if _, err := srv.Invoke(ctx, time.Second); err != nil {
		t.Fatalf("Invoke: %v", err)
	}
	if r := receive(t, ch); r.err != nil {
		t.Fatalf("Next after failures: %v", r.err)
	}
}

func TestDropNext(t *testing.T) {
	ctx := extensiontest.Context(t)
	srv, c := registered(t)

	// Dropped on arrival.
	srv.DropNext()
	if _, err := c.Next(ctx); err == nil || ctx.Err() != nil {
		t.Fatalf("Next on a dropped connection: %v (ctx %v), want an error before the deadline", err, ctx.Err())
	}

	// Dropped while waiting.
	ch := goNext(ctx, c)
	if err := srv.WaitIdle(ctx); err != nil {
		t.Fatalf("WaitIdle: %v", err)
	}
	srv.DropNext()
	if r := receive(t, ch); r.err == nil {
		t.Fatalf("waiting Next on a dropped connection returned %+v", r.ev)
	}
}

func TestCloseUnblocksNext(t *testing.T) {
	ctx := extensiontest.Context(t)
	srv, c := registered(t)
	ch := goNext(ctx, c)
	if err := srv.WaitIdle(ctx); err != nil {
		t.Fatalf("WaitIdle: %v", err)
	}
	srv.Close()
	if r := receive(t, ch); r.err == nil {
		t.Fatalf("Next after Close returned %+v", r.ev)
	}
}

// TestAPIErrorBody checks the client against answers the fake never gives.
func TestAPIErrorBody(t *testing.T) {
	long := strings.Repeat("é", 2000) // multi-byte, to catch a split rune
	tests := []struct {
		name, body, wantType string
	}{
		{"lambda", `{"errorMessage":"boom","errorType":"Extension.Oops"}`, "Extension.Oops"},
		{"long", `{"errorMessage":"` + long + `","errorType":"X"}`, "X"},
		{"text", "upstream proxy error\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusBadGateway)
				_, _ = w.Write([]byte(tt.body))
			}))
			defer ts.Close()
			c := extension.NewClient(strings.TrimPrefix(ts.URL, "http://"), nil)
			_, err := c.Register(extensiontest.Context(t), "x")
			var apiErr *extension.APIError
			if !errors.As(err, &apiErr) {
				t.Fatalf("Register error = %v, want *APIError", err)
			}
			if apiErr.StatusCode != http.StatusBadGateway || apiErr.ErrorType != tt.wantType {
				t.Errorf("APIError = %d %q, want 502 %q", apiErr.StatusCode, apiErr.ErrorType, tt.wantType)
			}
			if n := len(apiErr.Message); n == 0 || n > 1024 {
				t.Errorf("Message length = %d, want 1..1024", n)
			}
			if !strings.Contains(err.Error(), apiErr.Message) {
				t.Errorf("error %q does not include the message", err)
			}
		})
	}
}

func TestRegisterWithoutIdentifier(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"functionName":"f","functionVersion":"1","handler":"h"}`))
	}))
	defer ts.Close()
	c := extension.NewClient(strings.TrimPrefix(ts.URL, "http://"), nil)
	if _, err := c.Register(extensiontest.Context(t), "x"); err == nil || !strings.Contains(err.Error(), "Lambda-Extension-Identifier") {
		t.Fatalf("Register error = %v, want one about the missing identifier", err)
	}
}
