package client

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
)

// fakeExtension answers /secret/<slice> the way the extension does: the
// value with an ETag, 304 to a matching If-None-Match, contract errors.
func fakeExtension(t *testing.T, token string, value *atomic.Value) (port string, notModified *atomic.Int32) {
	t.Helper()
	notModified = &atomic.Int32{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get(tokenHeader) != token {
			w.WriteHeader(http.StatusForbidden)
			w.Write([]byte(`{"error":"InvalidToken","message":"the X-Aws-Parameters-Secrets-Token header does not match the expected token"}`))
			return
		}
		if r.URL.Path != "/secret/Plain" {
			w.WriteHeader(http.StatusNotFound)
			w.Write([]byte(`{"error":"SliceNotFound","message":"the secret has no slice"}`))
			return
		}
		v := value.Load().(string)
		etag := `"` + strconv.Itoa(len(v)) + v[:1] + `"`
		if r.Header.Get("If-None-Match") == etag {
			notModified.Add(1)
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", etag)
		w.Write([]byte(v))
	}))
	t.Cleanup(srv.Close)
	_, port, _ = net.SplitHostPort(srv.Listener.Addr().String())
	return port, notModified
}

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestSliceRevalidatesWithTheETag(t *testing.T) {
	var value atomic.Value
	value.Store(`"first"`)
	port, notModified := fakeExtension(t, "tok", &value)
	c, err := newClient(env(map[string]string{"STARFLEET_SECRETS_PORT": port, "AWS_SESSION_TOKEN": "tok"}))
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		raw, err := c.Slice(context.Background(), "Plain")
		if err != nil || string(raw) != `"first"` {
			t.Fatalf("Slice = %s, %v", raw, err)
		}
		raw[1] = 'X' // the caller's copy: the client's own must not change
	}
	if n := notModified.Load(); n != 2 {
		t.Errorf("%d answers were 304, want 2: the last value is revalidated", n)
	}
	value.Store(`"second, rotated"`)
	var got string
	if err := c.Decode(context.Background(), "Plain", &got); err != nil || got != "second, rotated" {
		t.Errorf("after a rotation: %q %v", got, err)
	}
}

func TestErrorsAreClear(t *testing.T) {
	var value atomic.Value
	value.Store(`"v"`)
	port, _ := fakeExtension(t, "tok", &value)
	c, _ := newClient(env(map[string]string{"STARFLEET_SECRETS_PORT": port, "STARFLEET_SECRETS_TOKEN": "wrong", "AWS_SESSION_TOKEN": "tok"}))
	_, err := c.Slice(context.Background(), "Plain")
	if e, ok := err.(*Error); !ok || e.Status != 403 || e.Code != "InvalidToken" {
		t.Errorf("STARFLEET_SECRETS_TOKEN first, and wrong: %v", err)
	}
	c, _ = newClient(env(map[string]string{"STARFLEET_SECRETS_PORT": port, "AWS_SESSION_TOKEN": "tok"}))
	if _, err := c.Slice(context.Background(), "Missing"); err == nil || !strings.Contains(err.Error(), "SliceNotFound") {
		t.Errorf("a missing slice: %v", err)
	}
	c, _ = newClient(env(map[string]string{"STARFLEET_SECRETS_PORT": port}))
	if _, err := c.Slice(context.Background(), "Plain"); err == nil || !strings.Contains(err.Error(), "no token") {
		t.Errorf("no token: %v", err)
	}
	if _, err := newClient(env(map[string]string{"STARFLEET_SECRETS_PORT": "70000"})); err == nil || !strings.Contains(err.Error(), "STARFLEET_SECRETS_PORT") {
		t.Errorf("a bad port: %v", err)
	}
	c, _ = newClient(env(map[string]string{"PARAMETERS_SECRETS_EXTENSION_HTTP_PORT": port, "AWS_SESSION_TOKEN": "tok"}))
	if raw, err := c.Slice(context.Background(), "Plain"); err != nil || string(raw) != `"v"` {
		t.Errorf("the AWS layer's port variable: %s %v", raw, err)
	}
}

func TestNothingListening(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	ln.Close()
	c, _ := newClient(env(map[string]string{"STARFLEET_SECRETS_PORT": port, "AWS_SESSION_TOKEN": "tok"}))
	_, err = c.Slice(context.Background(), "Plain")
	if e, ok := err.(*Error); !ok || e.Status != 0 || !strings.Contains(e.Message, "is the starfleet-secrets extension attached") {
		t.Errorf("nothing listening: %v", err)
	}
}
