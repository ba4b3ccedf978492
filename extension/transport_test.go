package extension

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// countingServer answers every request with body, counting the
// connections it accepted.
func countingServer(t *testing.T, handler http.HandlerFunc) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(handler)
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, &conns
}

func get(t *testing.T, c *http.Client, ctx context.Context, url string) (string, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// TestAPITransportReusesItsConnection: one connection for request after
// request, a new one when the platform closes it or asks to.
func TestAPITransportReusesItsConnection(t *testing.T) {
	closeNext := atomic.Bool{}
	srv, conns := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		if closeNext.Swap(false) {
			w.Header().Set("Connection", "close")
		}
		io.WriteString(w, "ok "+r.URL.Path)
	})
	c := &http.Client{Transport: &apiTransport{}}
	for i := range 5 {
		if body, err := get(t, c, t.Context(), srv.URL+"/next"); err != nil || body != "ok /next" {
			t.Fatalf("request %d: %q, %v", i, body, err)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("%d connections for 5 requests, want 1", n)
	}
	closeNext.Store(true)
	for range 2 {
		if _, err := get(t, c, t.Context(), srv.URL+"/next"); err != nil {
			t.Fatal(err)
		}
	}
	if n := conns.Load(); n != 2 {
		t.Errorf("%d connections after a Connection: close answer, want 2", n)
	}
	// The platform closes the kept connection: the next request goes
	// through on a new one.
	srv.CloseClientConnections()
	if body, err := get(t, c, t.Context(), srv.URL+"/after"); err != nil || body != "ok /after" {
		t.Errorf("after the platform closed the kept connection: %q, %v", body, err)
	}
	if n := conns.Load(); n != 3 {
		t.Errorf("%d connections, want 3", n)
	}
}

// TestAPITransportCancels: a request blocked on the platform ends with its
// context, reporting the context's error, and the next request works on a
// new connection.
func TestAPITransportCancels(t *testing.T) {
	release := make(chan struct{})
	srv, conns := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/block" {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}
		io.WriteString(w, "ok")
	})
	defer close(release)
	c := &http.Client{Transport: &apiTransport{}}
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if _, err := get(t, c, ctx, srv.URL+"/block"); err == nil || ctx.Err() == nil || !strings.Contains(err.Error(), context.DeadlineExceeded.Error()) {
		t.Fatalf("blocked request: %v, want the context's deadline", err)
	}
	if body, err := get(t, c, t.Context(), srv.URL+"/next"); err != nil || body != "ok" {
		t.Fatalf("after a canceled request: %q, %v", body, err)
	}
	if n := conns.Load(); n != 2 {
		t.Errorf("%d connections, want 2: the canceled one is not reused", n)
	}
}

func TestRegisterBody(t *testing.T) {
	body, err := registerBody([]EventType{Invoke, Shutdown})
	if err != nil {
		t.Fatal(err)
	}
	var got struct{ Events []EventType }
	if err := json.Unmarshal(body, &got); err != nil || !reflect.DeepEqual(got.Events, []EventType{Invoke, Shutdown}) {
		t.Errorf("%s: %v, %v", body, got, err)
	}
	for _, bad := range []EventType{"", "invoke", `IN"VOKE`, "INVOKE\n"} {
		if _, err := registerBody([]EventType{Shutdown, bad}); err == nil {
			t.Errorf("event type %q accepted", bad)
		}
	}
}
