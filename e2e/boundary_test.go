package e2e

// The security boundary, against the real binary: the connection cap,
// proxied requests, header size and read timeouts, the slice allowlist and
// HEAD.

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestSecurityBoundary(t *testing.T) {
	resetMoto(t, starfleetSecret)
	l := start(t, withEnv("STARFLEET_SECRETS_ALLOW=STARFLEET,Plain", "STARFLEET_SECRETS_MAX_CONNECTIONS=4"))
	l.waitInit()
	addr := strings.TrimPrefix(l.base, "http://")

	// A client trickling its headers is cut off after the production
	// ReadHeaderTimeout (5 s); measured alongside the other checks.
	trickled := make(chan string, 1)
	trickler, err := net.Dial("tcp4", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer trickler.Close()
	go func() {
		start := time.Now()
		stop := make(chan struct{})
		defer close(stop)
		go func() {
			tick := time.NewTicker(100 * time.Millisecond)
			defer tick.Stop()
			io.WriteString(trickler, "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
			for range 200 { // bounded: 20 s at most
				select {
				case <-stop:
					return
				case <-tick.C:
				}
				if _, err := trickler.Write([]byte("s")); err != nil {
					return
				}
			}
		}()
		trickler.SetReadDeadline(time.Now().Add(15 * time.Second))
		_, err := io.Copy(io.Discard, trickler)
		elapsed := time.Since(start)
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			trickled <- "still open after 15 s"
			return
		}
		if elapsed < 4*time.Second || elapsed > 8*time.Second {
			trickled <- "cut off after " + elapsed.String() + ", want about 5 s"
			return
		}
		t.Logf("trickling client cut off after %v", elapsed.Round(time.Millisecond))
		trickled <- ""
	}()

	value := rawSlice(t, starfleetSecret, "STARFLEET")
	for _, tt := range []struct {
		name, method, path string
		header             []string
		status             int
		code               string
	}{
		{"allowed slice", "GET", "/secret/STARFLEET", nil, 200, ""},
		{"allowed key", "GET", "/secret/STARFLEET/SlackToken", nil, 200, ""},
		{"slice outside the allowlist", "GET", "/secret/GitHubSyncWorker", nil, 403, "SliceNotAllowed"},
		{"key of a slice outside the allowlist", "GET", "/secret/GitHubSyncWorker/org-a", nil, 403, "SliceNotAllowed"},
		{"whole secret outside the allowlist", "GET", "/secretsmanager/get?secretId=Starfleet", nil, 403, "SecretNotAllowed"},
		{"X-Forwarded-For", "GET", "/secret/STARFLEET", []string{"X-Forwarded-For", "127.0.0.1"}, 400, "ForwardedRequest"},
		{"wrong token", "GET", "/secret/STARFLEET", []string{"X-Aws-Parameters-Secrets-Token", l.token + "x"}, 403, "InvalidToken"},
		{"POST", "POST", "/secret/STARFLEET", nil, 405, "MethodNotAllowed"},
		{"control character in the name", "GET", "/secret/STAR%01FLEET", nil, 400, "InvalidName"},
	} {
		a := l.get(tt.method, tt.path, tt.header...)
		if tt.code == "" {
			if a.status != tt.status {
				t.Errorf("%s: %d %s, want %d", tt.name, a.status, a.body, tt.status)
			}
			continue
		}
		var e struct{ Error string }
		if json.Unmarshal([]byte(a.body), &e) != nil || a.status != tt.status || e.Error != tt.code {
			t.Errorf("%s: %d %s, want %d %s", tt.name, a.status, a.body, tt.status, tt.code)
		}
		if strings.Contains(a.body, "xoxb-") || strings.Contains(a.body, "PRIVATE KEY") {
			t.Errorf("%s: error answer carries a secret: %s", tt.name, a.body)
		}
	}

	// HEAD: the GET's headers, no body.
	head := l.get("HEAD", "/secret/STARFLEET")
	if head.status != 200 || head.body != "" || head.header.Get("Content-Length") != strconv.Itoa(len(value)) || head.header.Get("ETag") == "" {
		t.Errorf("HEAD: %d %q %v", head.status, head.body, head.header)
	}

	// A 64 KiB header is refused by net/http with 431 (plain text: the
	// request never reaches the handler).
	a := l.get("GET", "/secret/STARFLEET", "X-Big", strings.Repeat("b", 64<<10))
	if a.status != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("64 KiB header: %d %s, want 431", a.status, a.body)
	}

	// The connection cap (4 here; the trickler holds one): three more
	// kept open, the next is answered 429. The test client's idle
	// connections are closed first; the server sees them go shortly after.
	http.DefaultClient.CloseIdleConnections()
	var conns []net.Conn
	for range 3 {
		var c net.Conn
		if !poll(t, 10*time.Second, 20*time.Millisecond, func() bool {
			var err error
			if c, err = net.Dial("tcp4", addr); err != nil {
				return false
			}
			c.SetDeadline(time.Now().Add(10 * time.Second))
			io.WriteString(c, "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err == nil {
				resp.Body.Close()
			}
			if err != nil || resp.StatusCode == http.StatusTooManyRequests {
				c.Close()
				return false
			}
			return true
		}) {
			t.Fatal("could not open connections up to the cap")
		}
		defer c.Close()
		conns = append(conns, c)
	}
	over := l.get("GET", "/secret/STARFLEET")
	var e struct{ Error, Message string }
	if over.status != http.StatusTooManyRequests || json.Unmarshal([]byte(over.body), &e) != nil || e.Error != "TooManyConnections" || over.header.Get("Content-Type") != "application/json" {
		t.Errorf("past the connection cap: %d %s, want 429 TooManyConnections", over.status, over.body)
	}
	for _, c := range conns {
		c.Close()
	}
	if !poll(t, 10*time.Second, 20*time.Millisecond, func() bool {
		a, err := l.try(t.Context(), "GET", "/secret/STARFLEET")
		return err == nil && a.status == 200
	}) {
		t.Error("closed connections did not free their slots")
	}

	if msg := <-trickled; msg != "" {
		t.Errorf("trickling client: %s", msg)
	}
	if res := l.shutdown(2 * time.Second); res.Code != 0 || res.Killed {
		t.Errorf("shutdown: %+v", res)
	}
	assertNoLeak(t, l, secretValues)
	if !strings.Contains(l.output.String(), `"event":"connection_limit"`) {
		t.Error("the refused connection was not logged")
	}
}
