package server

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/starfleet/starfleet-secrets/cache"
	"github.com/starfleet/starfleet-secrets/item"
	"github.com/starfleet/starfleet-secrets/server/loopback"
)

const (
	testToken  = "test-token"
	secretJSON = `{"STARFLEET":{"SlackToken":"xoxb-s3cr3t"},"GitHubSyncWorker":{"org-a":{"AppId":"1","PrivateKey":"-----KEY-A-----"}},"Plain":"plain-s3cr3t"}`
)

var now = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

// programSettings are the names the program passes, so that the answers
// tested are the ones users read.
var programSettings = Settings{
	SecretID: "STARFLEET_SECRET_ID", SecretRegion: "STARFLEET_SECRET_REGION",
	FetchTimeout: "STARFLEET_SECRETS_FETCH_TIMEOUT",
	Allow:        "STARFLEET_SECRETS_ALLOW", File: "STARFLEET_SECRETS_FILE", Token: "STARFLEET_SECRETS_TOKEN",
}

// stubStore answers every Get with one result or one error.
type stubStore struct {
	res    cache.Result
	err    error
	ready  bool
	forced []bool
}

func (s *stubStore) Get(_ context.Context, _ item.Key, force bool) (cache.Result, error) {
	s.forced = append(s.forced, force)
	return s.res, s.err
}
func (s *stubStore) Primary() item.Key    { return item.SecretKey{ID: "Starfleet"} }
func (s *stubStore) Layout() cache.Layout { return cache.Layout{} }
func (s *stubStore) Ready() bool          { return s.ready }
func (s *stubStore) Status(item.Key) cache.Status {
	if s.res.Value == nil {
		return cache.Status{LastErrorCode: "AccessDeniedException"}
	}
	return cache.Status{FetchedAt: s.res.FetchedAt, VersionID: s.res.Value.VersionID}
}

// storeWith builds a store holding secretJSON through the real cache, so the
// server is tested against real parsed documents.
func storeWith(t *testing.T, raw string) *stubStore {
	t.Helper()
	src := sourceFunc(func(context.Context, item.SecretKey) (*item.Value, error) {
		return &item.Value{VersionID: "v1", Text: []byte(raw)}, nil
	})
	c := cache.New(cache.Options{Source: src, Secrets: cache.Rules{Policy: cache.Policy{TTL: time.Hour}, FetchTimeout: time.Second}, Primary: item.SecretKey{ID: "Starfleet"}})
	t.Cleanup(c.Close)
	res, err := c.Get(t.Context(), c.Primary(), false)
	if err != nil {
		t.Fatal(err)
	}
	res.FetchedAt = now.Add(-42 * time.Second)
	return &stubStore{res: res, ready: true}
}

type sourceFunc func(context.Context, item.SecretKey) (*item.Value, error)

func (f sourceFunc) GetSecretValue(ctx context.Context, k item.SecretKey) (*item.Value, error) {
	return f(ctx, k)
}

func newTestHandler(store Store, allow ...string) http.Handler {
	return New(Options{Store: store, Token: testToken, Allow: allow, Now: func() time.Time { return now }, Settings: programSettings})
}

func do(h http.Handler, method, target string, header http.Header) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, target, nil)
	r.Header.Set(TokenHeader, testToken)
	for k, v := range header {
		r.Header[k] = v
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestSliceIsServedByteForByte(t *testing.T) {
	h := newTestHandler(storeWith(t, secretJSON))
	tests := []struct{ path, want string }{
		{"/secret/STARFLEET", `{"SlackToken":"xoxb-s3cr3t"}`},
		{"/secret/GitHubSyncWorker", `{"org-a":{"AppId":"1","PrivateKey":"-----KEY-A-----"}}`},
		{"/secret/GitHubSyncWorker/org-a", `{"AppId":"1","PrivateKey":"-----KEY-A-----"}`},
		{"/secret/Plain", `"plain-s3cr3t"`},
		{"/secret/STARFLEET/SlackToken", `"xoxb-s3cr3t"`},
	}
	for _, tt := range tests {
		w := do(h, "GET", tt.path, nil)
		if w.Code != 200 || w.Body.String() != tt.want {
			t.Errorf("GET %s = %d %q, want 200 %q", tt.path, w.Code, w.Body, tt.want)
		}
		for header, want := range map[string]string{
			"Content-Type":           "application/json",
			"Cache-Control":          "no-store",
			"X-Content-Type-Options": "nosniff",
			"Age":                    "42",
		} {
			if got := w.Header().Get(header); got != want {
				t.Errorf("GET %s: %s = %q, want %q", tt.path, header, got, want)
			}
		}
		if w.Header().Get("ETag") == "" || w.Header().Get("Warning") != "" {
			t.Errorf("GET %s: ETag %q Warning %q", tt.path, w.Header().Get("ETag"), w.Header().Get("Warning"))
		}
	}
}

func TestErrorsAreContractJSON(t *testing.T) {
	h := newTestHandler(storeWith(t, secretJSON), "STARFLEET", "GitHubSyncWorker", "Missing")
	tests := []struct {
		name   string
		method string
		path   string
		header http.Header
		status int
		code   string
	}{
		{"missing slice", "GET", "/secret/Missing", nil, 404, "SliceNotFound"},
		{"missing key", "GET", "/secret/GitHubSyncWorker/org-z", nil, 404, "KeyNotFound"},
		{"key in a non-object", "GET", "/secret/STARFLEET/SlackToken/x", nil, 404, "NotFound"},
		{"no token", "GET", "/secret/STARFLEET", http.Header{TokenHeader: {""}}, 403, "MissingToken"},
		{"wrong token", "GET", "/secret/STARFLEET", http.Header{TokenHeader: {"nope"}}, 403, "InvalidToken"},
		{"not allowed", "GET", "/secret/Plain", nil, 403, "SliceNotAllowed"},
		{"post", "POST", "/secret/STARFLEET", nil, 405, "MethodNotAllowed"},
		{"delete health", "DELETE", "/health", nil, 405, "MethodNotAllowed"},
		{"forwarded", "GET", "/secret/STARFLEET", http.Header{"X-Forwarded-For": {"10.0.0.1"}}, 400, "ForwardedRequest"},
		{"control character", "GET", "/secret/A%01B", nil, 400, "InvalidName"},
		{"too long", "GET", "/secret/" + strings.Repeat("x", 257), nil, 400, "InvalidName"},
		{"unknown route", "GET", "/nope", nil, 404, "NotFound"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := do(h, tt.method, tt.path, tt.header)
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d; body %s", w.Code, tt.status, w.Body)
			}
			var body apiError
			if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
				t.Fatalf("body is not JSON: %q", w.Body)
			}
			if body.Code != tt.code || body.Message == "" {
				t.Errorf("body %+v, want error %s", body, tt.code)
			}
			if strings.Contains(w.Body.String(), "s3cr3t") || strings.Contains(w.Body.String(), "KEY-A") {
				t.Errorf("error body leaks a secret: %s", w.Body)
			}
			if w.Header().Get("Content-Type") != "application/json" {
				t.Errorf("Content-Type %q", w.Header().Get("Content-Type"))
			}
		})
	}
}

func TestCallerNamesAreEscaped(t *testing.T) {
	h := newTestHandler(storeWith(t, secretJSON))
	w := do(h, "GET", "/secret/%3Cscript%3Ealert(1)%3C%2Fscript%3E", nil)
	if w.Code != 404 || strings.Contains(w.Body.String(), "<script>") {
		t.Errorf("%d %s", w.Code, w.Body)
	}
}

func TestUpstreamErrors(t *testing.T) {
	tests := []struct {
		err    error
		status int
		code   string
	}{
		{&item.Error{Code: "AccessDeniedException", Err: errors.New("User is not authorized")}, 502, "AccessDeniedException"},
		{&item.Error{Code: "ResourceNotFoundException", Err: errors.New("can't find the secret")}, 502, "ResourceNotFoundException"},
		{&item.Error{Code: item.CodeTimeout, Transient: true, Err: context.DeadlineExceeded}, 504, "Timeout"},
		{&item.Error{Code: item.CodeShuttingDown, Err: errors.New("closing")}, 503, "ShuttingDown"},
	}
	for _, tt := range tests {
		h := newTestHandler(&stubStore{err: tt.err})
		w := do(h, "GET", "/secret/STARFLEET", nil)
		var body apiError
		json.Unmarshal(w.Body.Bytes(), &body)
		if w.Code != tt.status || body.Code != tt.code || !strings.Contains(body.Message, tt.err.(*item.Error).Err.Error()) {
			t.Errorf("%v: %d %s", tt.err, w.Code, w.Body)
		}
	}
	h := newTestHandler(storeWith(t, `["not","an","object"]`))
	w := do(h, "GET", "/secret/STARFLEET", nil)
	if w.Code != 502 || !strings.Contains(w.Body.String(), "SecretNotJSONObject") || strings.Contains(w.Body.String(), "object\"]") {
		t.Errorf("not an object: %d %s", w.Code, w.Body)
	}
}

func TestETagAnd304(t *testing.T) {
	h := newTestHandler(storeWith(t, secretJSON))
	first := do(h, "GET", "/secret/STARFLEET", nil)
	etag := first.Header().Get("ETag")
	w := do(h, "GET", "/secret/STARFLEET", http.Header{"If-None-Match": {`"other", ` + etag}})
	if w.Code != 304 || w.Body.Len() != 0 || w.Header().Get("ETag") != etag {
		t.Errorf("If-None-Match: %d %q", w.Code, w.Body)
	}
	other := do(h, "GET", "/secret/GitHubSyncWorker", nil).Header().Get("ETag")
	if other == etag {
		t.Error("two slices share an ETag")
	}
	if w := do(h, "GET", "/secret/STARFLEET", http.Header{"If-None-Match": {`"stale"`}}); w.Code != 200 {
		t.Errorf("non-matching If-None-Match: %d", w.Code)
	}
}

func TestStaleWarningAndForcedRefresh(t *testing.T) {
	store := storeWith(t, secretJSON)
	store.res.Stale = true
	h := newTestHandler(store)
	w := do(h, "GET", "/secret/STARFLEET", http.Header{"Cache-Control": {"max-age=0, no-cache"}})
	if w.Code != 200 || w.Header().Get("Warning") != `110 - "Response is Stale"` {
		t.Errorf("stale answer: %d Warning %q", w.Code, w.Header().Get("Warning"))
	}
	do(h, "GET", "/secret/STARFLEET", nil)
	if len(store.forced) != 2 || !store.forced[0] || store.forced[1] {
		t.Errorf("forced = %v, want [true false]", store.forced)
	}
}

func TestHead(t *testing.T) {
	h := newTestHandler(storeWith(t, secretJSON))
	srv := httptest.NewServer(h)
	defer srv.Close()
	req, _ := http.NewRequest("HEAD", srv.URL+"/secret/STARFLEET", nil)
	req.Header.Set(TokenHeader, testToken)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || len(body) != 0 || resp.ContentLength != int64(len(`{"SlackToken":"xoxb-s3cr3t"}`)) {
		t.Errorf("HEAD: %d, %d body bytes, Content-Length %d", resp.StatusCode, len(body), resp.ContentLength)
	}
}

func TestHealth(t *testing.T) {
	store := &stubStore{}
	h := newTestHandler(store)
	r := httptest.NewRequest("GET", "/health", nil) // no token needed
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != 503 {
		t.Errorf("before first fetch: %d", w.Code)
	}
	store.ready = true
	w = httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != 200 || !strings.Contains(w.Body.String(), `"ready"`) {
		t.Errorf("ready: %d %s", w.Code, w.Body)
	}
}

func TestValidateName(t *testing.T) {
	for _, ok := range []string{"STARFLEET", "GitHubSyncWorker", "org-a.b_c", "名前", "a b"} {
		if err := ValidateName(ok); err != nil {
			t.Errorf("ValidateName(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"", "a\x00b", "a\nb", "\xff", strings.Repeat("a", 257)} {
		if err := ValidateName(bad); err == nil {
			t.Errorf("ValidateName(%q) accepted", bad)
		}
	}
}

func TestNewPanicsWithoutToken(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("no panic")
		}
	}()
	New(Options{Store: &stubStore{}})
}

func TestWholeSecretIsEveryReadableSliceByteForByte(t *testing.T) {
	const doc = `{"STARFLEET": {"SlackToken":"xoxb-s3cr3t"} ,"GitHubSyncWorker":{"org-a":"-----KEY-A-----\n"},"Plain":"plain-s3cr3t","N":1.50}`
	h := newTestHandler(storeWith(t, doc))
	w := do(h, "GET", "/secret", nil)
	want := `{"GitHubSyncWorker":{"org-a":"-----KEY-A-----\n"},"N":1.50,"Plain":"plain-s3cr3t","STARFLEET":{"SlackToken":"xoxb-s3cr3t"}}`
	if w.Code != 200 || w.Body.String() != want {
		t.Fatalf("GET /secret = %d %s, want %s", w.Code, w.Body, want)
	}
	if !json.Valid(w.Body.Bytes()) || w.Header().Get("Age") != "42" || w.Header().Get("Cache-Control") != "no-store" {
		t.Errorf("headers %v", w.Header())
	}
	etag := w.Header().Get("ETag")
	if w := do(h, "GET", "/secret", http.Header{"If-None-Match": {etag}}); w.Code != 304 || w.Body.Len() != 0 {
		t.Errorf("If-None-Match: %d %q", w.Code, w.Body)
	}

	allowed := newTestHandler(storeWith(t, doc), "STARFLEET", "GitHubSyncWorker", "NotInTheSecret")
	w = do(allowed, "GET", "/secret", nil)
	want = `{"GitHubSyncWorker":{"org-a":"-----KEY-A-----\n"},"STARFLEET":{"SlackToken":"xoxb-s3cr3t"}}`
	if w.Code != 200 || w.Body.String() != want {
		t.Fatalf("with an allow list: %d %s, want %s", w.Code, w.Body, want)
	}
	if w.Header().Get("ETag") == etag {
		t.Error("the allowed subset shares the whole secret's ETag")
	}
	if w := do(allowed, "GET", "/secret", http.Header{"If-None-Match": {etag}}); w.Code != 200 {
		t.Errorf("the whole secret's ETag matched the subset: %d", w.Code)
	}
	if w := do(newTestHandler(storeWith(t, doc), "Nothing"), "GET", "/secret", nil); w.Code != 200 || w.Body.String() != "{}" {
		t.Errorf("nothing readable: %d %s", w.Code, w.Body)
	}

	rotated := newTestHandler(storeWith(t, strings.Replace(doc, "plain-s3cr3t", "rotated", 1)))
	if w := do(rotated, "GET", "/secret", nil); w.Header().Get("ETag") == etag {
		t.Error("a rotated secret kept its ETag")
	}
	if w := do(h, "GET", "/secret", http.Header{TokenHeader: {"nope"}}); w.Code != 403 {
		t.Errorf("wrong token: %d", w.Code)
	}
}

func TestHealthNamesTheSecret(t *testing.T) {
	h := newTestHandler(storeWith(t, secretJSON))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/health", nil))
	var body struct {
		SecretID string `json:"secret_id"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || body.SecretID != "Starfleet" {
		t.Errorf("/health = %s, want secret_id Starfleet", w.Body)
	}
	if strings.Contains(w.Body.String(), "s3cr3t") {
		t.Errorf("/health leaks: %s", w.Body)
	}
}

// TestOneRouteContextPerConnection: the requests of one keep-alive
// connection share a routing context (ConnContext), each routed afresh.
func TestOneRouteContextPerConnection(t *testing.T) {
	ln, err := loopback.Listen(0)
	if err != nil {
		t.Fatal(err)
	}
	srv := NewHTTPServer(newTestHandler(storeWith(t, secretJSON)), time.Second, slog.New(slog.DiscardHandler))
	go srv.Serve(ln)
	defer srv.Close()
	c, err := net.Dial("tcp4", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	for _, tt := range []struct {
		path   string
		status int
		body   string
	}{
		{"/secret/GitHubSyncWorker/org-a", 200, `{"AppId":"1","PrivateKey":"-----KEY-A-----"}`},
		{"/secret/Plain", 200, `"plain-s3cr3t"`},
		{"/secret/STARFLEET/SlackToken", 200, `"xoxb-s3cr3t"`},
		{"/nope", 404, ""},
		{"/secret/Missing", 404, ""},
		{"/health", 200, ""},
		{"/secret/STARFLEET", 200, `{"SlackToken":"xoxb-s3cr3t"}`},
	} {
		c.SetDeadline(time.Now().Add(5 * time.Second))
		fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s: %s\r\n\r\n", tt.path, TokenHeader, testToken)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.status || tt.body != "" && string(body) != tt.body {
			t.Errorf("%s on a kept-alive connection: %d %s, want %d %s", tt.path, resp.StatusCode, body, tt.status, tt.body)
		}
	}
}

func (s *stubStore) GetParameters(ctx context.Context, keys []item.ParameterKey) ([]cache.Result, []error) {
	return getEach(ctx, s, keys)
}
func (s *stubStore) Invalidate(func(item.Key, *item.Value) bool) {}

// getEach answers keys one Get each, as a stub's GetParameters.
func getEach(ctx context.Context, s Store, keys []item.ParameterKey) ([]cache.Result, []error) {
	results, errs := make([]cache.Result, len(keys)), make([]error, len(keys))
	for i, k := range keys {
		results[i], errs[i] = s.Get(ctx, k, false)
	}
	return results, errs
}

// cacheStore is a real cache holding secretJSON: safe for concurrent
// requests, unlike the stub.
func cacheStore(t *testing.T) *cache.Cache {
	t.Helper()
	src := sourceFunc(func(context.Context, item.SecretKey) (*item.Value, error) {
		return &item.Value{VersionID: "v1", Text: []byte(secretJSON)}, nil
	})
	c := cache.New(cache.Options{Source: src, Secrets: cache.Rules{Policy: cache.Policy{TTL: time.Hour}, FetchTimeout: time.Second}, Primary: item.SecretKey{ID: "Starfleet"}})
	t.Cleanup(c.Close)
	if _, err := c.Get(t.Context(), c.Primary(), false); err != nil {
		t.Fatal(err)
	}
	return c
}
