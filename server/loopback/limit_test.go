package loopback

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// serveLimited serves plainHandler behind a LimitListener of max
// connections.
func serveLimited(t *testing.T, max int) (*limitListener, string) {
	t.Helper()
	ln, err := Listen(0)
	if err != nil {
		t.Fatal(err)
	}
	limited := LimitListener(ln, max, nil).(*limitListener)
	srv := &http.Server{Handler: plainHandler, ReadHeaderTimeout: time.Second}
	done := make(chan struct{})
	go func() { defer close(done); srv.Serve(limited) }()
	t.Cleanup(func() { srv.Close(); <-done })
	return limited, ln.Addr().String()
}

// The token header and token the requests of these tests carry, as the
// extension's callers send them; plainHandler answers every request with
// the body of the Plain slice.
const (
	tokenHeader = "X-Aws-Parameters-Secrets-Token"
	testToken   = "test-token"
	plainBody   = `"plain-s3cr3t"`
)

var plainHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	io.WriteString(w, plainBody)
})

// pollUntil calls cond until it is true or d has passed, and reports
// whether it became true. It paces a check; it is not synchronisation.
func pollUntil(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		<-tick.C
	}
	return true
}

// rawGet sends one keep-alive GET on c and reads the answer.
func rawGet(t *testing.T, c net.Conn, br *bufio.Reader, path string) *http.Response {
	t.Helper()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, "GET "+path+" HTTP/1.1\r\nHost: 127.0.0.1\r\n"+tokenHeader+": "+testToken+"\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(strings.NewReader(string(body)))
	return resp
}

func check429(t *testing.T, resp *http.Response) {
	t.Helper()
	body, _ := io.ReadAll(resp.Body)
	var e struct{ Error, Message string }
	if resp.StatusCode != http.StatusTooManyRequests || json.Unmarshal(body, &e) != nil || e.Error != "TooManyConnections" || e.Message == "" {
		t.Fatalf("past the cap: %d %s, want 429 TooManyConnections", resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	if !resp.Close {
		t.Error("429 without Connection: close")
	}
}

func TestConnectionCapAnswers429AndFreesSlots(t *testing.T) {
	limited, addr := serveLimited(t, 2)
	var open []net.Conn
	for range 2 {
		c, err := net.Dial("tcp4", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if resp := rawGet(t, c, bufio.NewReader(c), "/secret/Plain"); resp.StatusCode != 200 {
			t.Fatalf("within the cap: %d", resp.StatusCode)
		}
		open = append(open, c)
	}
	if n := limited.Active(); n != 2 {
		t.Fatalf("active = %d, want 2", n)
	}

	// A third connection, by a standard client: an answer, not a reset.
	// A keep-alive client, which drops an answer that comes before its
	// request: the listener must read the request first.
	client := &http.Client{Transport: &http.Transport{}, Timeout: 10 * time.Second}
	defer client.CloseIdleConnections()
	req, _ := http.NewRequest("GET", "http://"+addr+"/secret/Plain", nil)
	req.Header.Set(tokenHeader, testToken)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("past the cap the client got an error instead of 429: %v", err)
	}
	check429(t, resp)
	resp.Body.Close()

	// The kept-alive connections still work.
	if resp := rawGet(t, open[0], bufio.NewReader(open[0]), "/secret/Plain"); resp.StatusCode != 200 {
		t.Fatalf("an open connection was hurt by the rejection: %d", resp.StatusCode)
	}

	// Closing one frees its slot.
	open[1].Close()
	freed := pollUntil(5*time.Second, func() bool {
		resp, err := client.Do(req)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	if !freed {
		t.Fatalf("the slot of a closed connection was not freed (active %d)", limited.Active())
	}
}

func TestConnectionCapFloodLeavesNothingBehind(t *testing.T) {
	before := runtime.NumGoroutine()
	limited, addr := serveLimited(t, 4)
	// Two of the four slots are held by kept-alive connections for the
	// whole flood, so that the flood meets the cap however fast the
	// handler answers (a fast one would otherwise let 300 short
	// connections pass two at a time).
	var held []net.Conn
	for range 2 {
		c, err := net.Dial("tcp4", addr)
		if err != nil {
			t.Fatal(err)
		}
		if resp := rawGet(t, c, bufio.NewReader(c), "/secret/Plain"); resp.StatusCode != 200 {
			t.Fatalf("holding a slot: %d", resp.StatusCode)
		}
		held = append(held, c)
	}
	const flood = 300
	var wg sync.WaitGroup
	var mu sync.Mutex
	statuses := map[string]int{}
	for range flood {
		wg.Go(func() {
			c, err := net.Dial("tcp4", addr)
			if err != nil {
				mu.Lock()
				statuses["dial error"]++
				mu.Unlock()
				return
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(10 * time.Second))
			io.WriteString(c, "GET /secret/Plain HTTP/1.1\r\nHost: x\r\n"+tokenHeader+": "+testToken+"\r\nConnection: close\r\n\r\n")
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			key := "closed without answer"
			if err == nil {
				key = resp.Status
				resp.Body.Close()
			}
			mu.Lock()
			statuses[key]++
			mu.Unlock()
		})
	}
	wg.Wait()
	t.Logf("%d connections against a cap of 4: %v", flood, statuses)
	for k := range statuses {
		if k != "200 OK" && k != "429 Too Many Requests" && k != "closed without answer" {
			t.Errorf("unexpected outcome %q", k)
		}
	}
	if statuses["429 Too Many Requests"] == 0 {
		t.Error("no connection was refused with 429")
	}
	for _, c := range held {
		c.Close()
	}
	settled := pollUntil(10*time.Second, func() bool {
		return limited.Active() == 0 && runtime.NumGoroutine() <= before+4
	})
	if !settled {
		t.Fatalf("after the flood: %d active connections, %d goroutines (before %d)", limited.Active(), runtime.NumGoroutine(), before)
	}
}

func TestLimitListenerDefault(t *testing.T) {
	ln, err := Listen(0)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if l := LimitListener(ln, 0, nil).(*limitListener); l.max != DefaultMaxConnections {
		t.Errorf("max = %d, want the default %d", l.max, DefaultMaxConnections)
	}
}
