// Command starfleet-slice prints one slice of the Starfleet secret, read from
// the starfleet-secrets extension. It is the Go client example: copy
// getSlice and its helpers into a handler (standard library only).
//
//	go build -o starfleet-slice ./examples/clients/go/starfleet-slice
//	STARFLEET_SECRETS_TOKEN=... ./starfleet-slice GitHubSyncWorker
//
// In a handler, decode the slice into your own type:
//
//	raw, err := getSlice(ctx, "GitHubSyncWorker")
//	var orgs map[string]struct{ AppId, InstallationId, PrivateKey string }
//	err = json.Unmarshal(raw, &orgs)
//
// Each getSlice is one GET of http://127.0.0.1:PORT/secret/<slice>. Nothing is
// cached here on purpose: the extension is the cache, and a copy kept in the
// handler would hide a rotated secret. Read once per invocation.
//
// Environment: STARFLEET_SECRETS_PORT (default 2773); the token comes from
// STARFLEET_SECRETS_TOKEN, else AWS_TOKEN, AWS_SESSION_TOKEN or
// AWS_CONTAINER_AUTHORIZATION_TOKEN, the order the extension uses (Lambda
// sets AWS_SESSION_TOKEN; SnapStart functions get the last one).
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"syscall"
	"time"
)

const (
	tokenHeader = "X-Aws-Parameters-Secrets-Token"
	// The extension listens on the IPv4 loopback only; "localhost" might
	// resolve to ::1 first and meet a refused connection.
	host        = "127.0.0.1"
	defaultPort = 2773
	// Inside Lambda the extension listens before the handler can run, so a
	// refused connection means it is (re)starting, or, outside Lambda, that
	// the sidecar is still coming up. Retry briefly, then give up.
	retryFor = time.Second
	// Above the extension's 5 s fetch timeout.
	requestTimeout = 10 * time.Second
)

var tokenVariables = []string{"STARFLEET_SECRETS_TOKEN", "AWS_TOKEN", "AWS_SESSION_TOKEN", "AWS_CONTAINER_AUTHORIZATION_TOKEN"}

// client never uses a proxy: the extension is on the loopback.
var client = &http.Client{
	Timeout:   requestTimeout,
	Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 4, IdleConnTimeout: 30 * time.Second},
}

// sliceError is an answer other than 200. Status is 0 when the extension
// was unreachable; Code is its error code, e.g. "SliceNotFound" (404).
type sliceError struct {
	Status  int
	Code    string
	Message string
}

func (e *sliceError) Error() string {
	if e.Status == 0 {
		return e.Message
	}
	return fmt.Sprintf("HTTP %d %s: %s", e.Status, e.Code, e.Message)
}

// getSlice returns the JSON value of one slice of the Starfleet secret,
// exactly as stored.
func getSlice(ctx context.Context, name string) (json.RawMessage, error) {
	if name == "" {
		return nil, errors.New("empty slice name")
	}
	token, err := token()
	if err != nil {
		return nil, err
	}
	port, err := port()
	if err != nil {
		return nil, err
	}
	target := "http://" + host + ":" + strconv.Itoa(port) + "/secret/" + url.PathEscape(name)
	deadline := time.Now().Add(retryFor)
	delay := 10 * time.Millisecond
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
		if err != nil {
			return nil, err
		}
		req.Header.Set(tokenHeader, token)
		resp, err := client.Do(req)
		if err != nil {
			if !errors.Is(err, syscall.ECONNREFUSED) {
				return nil, &sliceError{Message: fmt.Sprintf("reading from %s:%d: %v", host, port, err)}
			}
			if time.Now().Add(delay).After(deadline) {
				return nil, &sliceError{Message: fmt.Sprintf("connection refused by %s:%d for %v: is the starfleet-secrets extension attached (layer or /opt/extensions) and STARFLEET_SECRETS_PORT right?", host, port, retryFor)}
			}
			if err := wait(ctx, delay); err != nil {
				return nil, err
			}
			delay = min(2*delay, 200*time.Millisecond)
			continue
		}
		return readAnswer(resp)
	}
}

func readAnswer(resp *http.Response) (json.RawMessage, error) {
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, &sliceError{Status: resp.StatusCode, Message: "reading the answer: " + err.Error()}
	}
	if resp.StatusCode == http.StatusOK {
		return json.RawMessage(body), nil
	}
	e := &sliceError{Status: resp.StatusCode}
	var apiErr struct {
		Error   string `json:"error"`
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &apiErr) == nil {
		e.Code, e.Message = apiErr.Error, apiErr.Message
	} else {
		e.Message = string(body[:min(len(body), 200)])
	}
	return nil, e
}

// wait pauses for the retry backoff, or until ctx is done.
func wait(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func token() (string, error) {
	for _, name := range tokenVariables {
		if v := os.Getenv(name); v != "" {
			return v, nil
		}
	}
	return "", errors.New("no token: set STARFLEET_SECRETS_TOKEN (outside Lambda) or run inside Lambda, which sets AWS_SESSION_TOKEN")
}

func port() (int, error) {
	raw := os.Getenv("STARFLEET_SECRETS_PORT")
	if raw == "" {
		return defaultPort, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < 1 || n > 65535 {
		return 0, fmt.Errorf("STARFLEET_SECRETS_PORT=%q: want a port number", raw)
	}
	return n, nil
}

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	if len(args) != 1 {
		fmt.Fprintln(os.Stderr, "usage: starfleet-slice SLICE")
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*requestTimeout)
	defer cancel()
	raw, err := getSlice(ctx, args[0])
	if err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		return 1
	}
	var out bytes.Buffer
	if err := json.Indent(&out, raw, "", "  "); err != nil {
		fmt.Fprintln(os.Stderr, "error: the extension answered something other than JSON:", err)
		return 1
	}
	fmt.Println(out.String())
	return 0
}
