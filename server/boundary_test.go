package server

// The security boundary of the HTTP server: header size and read timeouts
// of the production http.Server, and the token check.

import (
	"bufio"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/starfleet/starfleet-secrets/server/access"
	"github.com/starfleet/starfleet-secrets/server/loopback"
	"github.com/starfleet/starfleet-secrets/server/loopback/loopbacktest"
)

// serveProduction serves the test handler with the production server
// settings, adjusted by tune (the timeouts are fields of the returned
// server, so a test can shorten them without changing the product's).
func serveProduction(t *testing.T, tune func(*http.Server)) string {
	t.Helper()
	ln, err := loopback.Listen(0)
	if err != nil {
		t.Fatal(err)
	}
	srv := NewHTTPServer(newTestHandler(cacheStore(t)), time.Second, slog.New(slog.DiscardHandler))
	if tune != nil {
		tune(srv)
	}
	done := make(chan struct{})
	go func() { defer close(done); srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close(); <-done })
	return ln.Addr().String()
}

func TestServerLimitsAreSet(t *testing.T) {
	srv := NewHTTPServer(http.NotFoundHandler(), 5*time.Second, slog.New(slog.DiscardHandler))
	if srv.ReadHeaderTimeout <= 0 || srv.ReadHeaderTimeout > 5*time.Second {
		t.Errorf("ReadHeaderTimeout %v, want (0, 5s]", srv.ReadHeaderTimeout)
	}
	if srv.ReadTimeout <= 0 || srv.WriteTimeout <= 0 || srv.IdleTimeout <= 0 {
		t.Errorf("unbounded timeouts: read %v write %v idle %v", srv.ReadTimeout, srv.WriteTimeout, srv.IdleTimeout)
	}
	if srv.MaxHeaderBytes != 16<<10 {
		t.Errorf("MaxHeaderBytes %d, want 16 KiB", srv.MaxHeaderBytes)
	}
}

// TestTricklingHeadersAreCutOff: a client sending its headers a byte at a
// time, forever, is disconnected once ReadHeaderTimeout has passed, however
// steadily it sends.
func TestTricklingHeadersAreCutOff(t *testing.T) {
	const timeout = 400 * time.Millisecond
	addr := serveProduction(t, func(s *http.Server) { s.ReadHeaderTimeout = timeout })
	elapsed, n := loopbacktest.TrickleHeaders(t, addr, timeout+5*time.Second)
	t.Logf("trickling client cut off after %v (%d bytes answered)", elapsed.Round(time.Millisecond), n)
	if elapsed < timeout*3/4 || elapsed > timeout+2*time.Second {
		t.Errorf("cut off after %v, want about ReadHeaderTimeout (%v)", elapsed, timeout)
	}
}

func TestOversizedHeaderGets431(t *testing.T) {
	addr := serveProduction(t, nil)
	c, err := net.Dial("tcp4", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	go io.WriteString(c, "GET /secret/Plain HTTP/1.1\r\nHost: 127.0.0.1\r\n"+TokenHeader+": "+testToken+"\r\nX-Big: "+strings.Repeat("b", 64<<10)+"\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("64 KiB header: %d %s, want 431", resp.StatusCode, body)
	}
	if strings.Contains(string(body), "plain-s3cr3t") {
		t.Error("431 answer carries secret data")
	}
}

// TestTokenComparison: only the exact token passes; prefixes, extensions,
// case changes and long guesses are refused.
func TestTokenComparison(t *testing.T) {
	const token = "the-token-Zq81"
	h := &handler{token: access.NewToken(token), log: slog.New(slog.DiscardHandler)}
	ok := h.requireToken(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	for _, tt := range []struct {
		guess string
		want  int
	}{
		{token, http.StatusNoContent},
		{"", http.StatusForbidden},
		{"the-token-Zq8", http.StatusForbidden},
		{token + "1", http.StatusForbidden},
		{strings.ToUpper(token), http.StatusForbidden},
		{strings.Repeat("x", 4096), http.StatusForbidden},
	} {
		r := httptest.NewRequest("GET", "/secret/Plain", nil)
		if tt.guess != "" {
			r.Header.Set(TokenHeader, tt.guess)
		}
		w := httptest.NewRecorder()
		ok.ServeHTTP(w, r)
		if w.Code != tt.want {
			t.Errorf("token %.20q: %d, want %d", tt.guess, w.Code, tt.want)
		}
	}
}
