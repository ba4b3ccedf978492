package server_test

// Benchmarks (`make bench`): the handler's cost for one warm
// GET /secret/{slice}, against a bare handler writing the same bytes. The
// request carries a 1024-byte token, the size of a Lambda AWS_SESSION_TOKEN.

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/starfleet/starfleet-secrets/cache"
	"github.com/starfleet/starfleet-secrets/item"
	"github.com/starfleet/starfleet-secrets/server"
)

const benchSlicePath = "/secret/GitHubSyncWorker"

var benchToken = strings.Repeat("IQoJb3JpZ2luX2VjE", 64)[:1024]

type fileSource []byte

func (s fileSource) GetSecretValue(context.Context, item.SecretKey) (*item.Value, error) {
	return &item.Value{VersionID: "v1", Text: append([]byte(nil), s...)}, nil
}

// benchHandler is the API over a warm cache holding the testdata secret.
func benchHandler(b *testing.B) http.Handler {
	b.Helper()
	raw, err := os.ReadFile("../testdata/starfleet-secret.json")
	if err != nil {
		b.Fatal(err)
	}
	c := cache.New(cache.Options{
		Source:  fileSource(raw),
		Secrets: cache.Rules{Policy: cache.Policy{TTL: time.Hour, MaxStale: 15 * time.Minute, ForceInterval: time.Second}, FetchTimeout: 5 * time.Second},
		Primary: item.SecretKey{ID: "Starfleet"},
		Size:    16,
	})
	b.Cleanup(c.Close)
	if _, err := c.Get(context.Background(), c.Primary(), false); err != nil {
		b.Fatal(err)
	}
	return server.New(server.Options{Store: c, Token: benchToken})
}

// discardWriter is a ResponseWriter that keeps only the status, reusing its
// header map, so that a benchmark counts the handler's allocations alone.
type discardWriter struct {
	header http.Header
	status int
	n      int
}

func (w *discardWriter) Header() http.Header         { return w.header }
func (w *discardWriter) WriteHeader(status int)      { w.status = status }
func (w *discardWriter) Write(p []byte) (int, error) { w.n += len(p); return len(p), nil }

func (w *discardWriter) reset() {
	clear(w.header)
	w.status, w.n = 0, 0
}

// benchRequest is a request as the server hands it to the handler: its
// context holds the connection's routing context (server.ConnContext).
func benchRequest() *http.Request {
	r := httptest.NewRequest(http.MethodGet, benchSlicePath, nil)
	r.Header.Set(server.TokenHeader, benchToken)
	return r.WithContext(server.ConnContext(r.Context(), nil))
}

func runHandler(b *testing.B, h http.Handler) {
	b.Helper()
	r := benchRequest()
	w := &discardWriter{header: http.Header{}}
	// The check runs on a copy too: a request the handler has served
	// holds what it stored (chi's path values), and copies of it would
	// share that instead of making their own.
	first := *r
	h.ServeHTTP(w, &first)
	if w.status != http.StatusOK || w.n == 0 {
		b.Fatalf("status %d, %d bytes", w.status, w.n)
	}
	b.ReportAllocs()
	for b.Loop() {
		w.reset()
		// A new request each time, as the server reads one per request:
		// the copy is that cost, and what a handler stores in a request
		// (path values) must not be reused.
		req := *r
		h.ServeHTTP(w, &req)
	}
	if w.status != http.StatusOK {
		b.Fatalf("status %d", w.status)
	}
}

// BenchmarkHandlerSlice is the handler alone (routing, token check, cache
// lookup, headers) for GET /secret/{slice} on a warm cache.
func BenchmarkHandlerSlice(b *testing.B) {
	runHandler(b, benchHandler(b))
}

// BenchmarkHandlerSliceBare is its baseline: a handler that writes the same
// headers and body with no routing, token check or lookup.
func BenchmarkHandlerSliceBare(b *testing.B) {
	// Take the exact bytes from the real handler.
	w := httptest.NewRecorder()
	benchHandler(b).ServeHTTP(w, benchRequest())
	body, etag := w.Body.Bytes(), w.Header().Get("ETag")
	length := strconv.Itoa(len(body))
	runHandler(b, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		h := w.Header()
		h.Set("Cache-Control", "no-store")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Content-Type", "application/json")
		h.Set("Etag", etag)
		h.Set("Age", "0")
		h.Set("Content-Length", length)
		w.WriteHeader(http.StatusOK)
		w.Write(body)
	}))
}

// BenchmarkHandlerSliceRecorder is the same request through
// httptest.NewRecorder, a new one per request as a test would use it; the
// recorder's own allocations are included.
func BenchmarkHandlerSliceRecorder(b *testing.B) {
	h := benchHandler(b)
	r := benchRequest()
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			b.Fatalf("status %d", w.Code)
		}
	}
}
