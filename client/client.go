// Package client reads the Starfleet secret's slices from the
// starfleet-secrets extension, for Go handler code:
//
//	go get github.com/starfleet/starfleet-secrets/client
//
//	c, err := client.New()
//	var orgs map[string]struct{ AppId, InstallationId, PrivateKey string }
//	err = c.Decode(ctx, "GitHubSyncWorker", &orgs)
//
// Each read is one GET of http://127.0.0.1:PORT/secret/<slice>, revalidated
// with If-None-Match: an unchanged secret costs a 304 and no copy, a rotated
// one is seen within the extension's TTL. Read once per invocation; the
// extension is the cache, and a copy a handler keeps longer would hide a
// rotation.
//
// It exists as a package, in this module, so that handler code takes it
// with go get instead of copying an example; it uses the standard library
// only, and links nothing of the extension.
package client

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
	"sync"
	"syscall"
	"time"
)

const (
	tokenHeader = "X-Aws-Parameters-Secrets-Token"
	// The extension listens on 127.0.0.1 (and ::1); "localhost" could
	// resolve to an address nothing listens on.
	host        = "127.0.0.1"
	defaultPort = 2773
	// Inside Lambda the extension listens before the handler can run, so a
	// refused connection means it is (re)starting, or, outside Lambda, that
	// the sidecar is still coming up: retry briefly, then give up.
	retryFor = time.Second
	// Above the extension's 5 s fetch timeout.
	requestTimeout = 10 * time.Second
	maxAnswer      = 64 << 20
)

// TokenVariables are where the token comes from, first set first: the
// order the extension itself uses (Lambda sets AWS_SESSION_TOKEN, SnapStart
// functions get AWS_CONTAINER_AUTHORIZATION_TOKEN).
var TokenVariables = []string{"STARFLEET_SECRETS_TOKEN", "AWS_TOKEN", "AWS_SESSION_TOKEN", "AWS_CONTAINER_AUTHORIZATION_TOKEN"}

// Client reads slices; it is safe for concurrent use. The zero value is not
// usable: call New.
type Client struct {
	base   string
	lookup func(string) string
	http   *http.Client

	mu    sync.Mutex
	known map[string]answer // by path: the last 200 and its ETag
}

type answer struct {
	etag string
	body []byte
}

// New returns a client of the extension on STARFLEET_SECRETS_PORT (else
// PARAMETERS_SECRETS_EXTENSION_HTTP_PORT, the AWS layer's, else 2773). The
// token is read from the environment at every request, so a rotated token
// is used at once.
func New() (*Client, error) {
	return newClient(os.Getenv)
}

func newClient(lookup func(string) string) (*Client, error) {
	port := defaultPort
	for _, name := range []string{"STARFLEET_SECRETS_PORT", "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT"} {
		raw := lookup(name)
		if raw == "" {
			continue
		}
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("%s=%q: want a port number from 1 to 65535", name, raw)
		}
		port = n
		break
	}
	return &Client{
		base:   "http://" + host + ":" + strconv.Itoa(port),
		lookup: lookup,
		// No proxy: the extension is on the loopback, and refuses a
		// request that came through one.
		http:  &http.Client{Timeout: requestTimeout, Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 4, IdleConnTimeout: 30 * time.Second}},
		known: map[string]answer{},
	}, nil
}

// Error is an answer other than 200. Status is 0 when the extension could
// not be reached; Code is the extension's error code, e.g. "SliceNotFound"
// (404), "InvalidToken" (403), "ResourceNotFoundException" (502).
type Error struct {
	Status  int
	Code    string
	Message string
}

func (e *Error) Error() string {
	if e.Status == 0 {
		return e.Message
	}
	return fmt.Sprintf("HTTP %d %s: %s", e.Status, e.Code, e.Message)
}

// Slice returns the JSON value of one slice of the Starfleet secret,
// exactly as stored. The caller may modify it.
func (c *Client) Slice(ctx context.Context, name string) (json.RawMessage, error) {
	if name == "" {
		return nil, errors.New("client: empty slice name")
	}
	return c.get(ctx, "/secret/"+url.PathEscape(name))
}

// Key returns the value of one key of an object slice.
func (c *Client) Key(ctx context.Context, slice, key string) (json.RawMessage, error) {
	if slice == "" || key == "" {
		return nil, errors.New("client: empty slice or key name")
	}
	return c.get(ctx, "/secret/"+url.PathEscape(slice)+"/"+url.PathEscape(key))
}

// Decode reads one slice into v, as json.Unmarshal does.
func (c *Client) Decode(ctx context.Context, slice string, v any) error {
	raw, err := c.Slice(ctx, slice)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(raw, v); err != nil {
		// json's message names types and offsets, never the value.
		return fmt.Errorf("client: decoding slice %q: %w", slice, err)
	}
	return nil
}

func (c *Client) token() (string, error) {
	for _, name := range TokenVariables {
		if v := c.lookup(name); v != "" {
			return v, nil
		}
	}
	return "", errors.New("client: no token: set STARFLEET_SECRETS_TOKEN (outside Lambda) or run inside Lambda, which sets AWS_SESSION_TOKEN")
}

// get reads path, revalidating the last answer with If-None-Match, and
// retrying briefly while nothing listens.
func (c *Client) get(ctx context.Context, path string) (json.RawMessage, error) {
	token, err := c.token()
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	known, haveKnown := c.known[path]
	c.mu.Unlock()
	deadline := time.Now().Add(retryFor)
	delay := 10 * time.Millisecond
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
		if err != nil {
			return nil, err
		}
		req.Header.Set(tokenHeader, token)
		if haveKnown && known.etag != "" {
			req.Header.Set("If-None-Match", known.etag)
		}
		resp, err := c.http.Do(req)
		if err == nil {
			return c.read(path, resp, known)
		}
		if !errors.Is(err, syscall.ECONNREFUSED) {
			return nil, &Error{Message: fmt.Sprintf("reading from %s: %v", c.base, err)}
		}
		if time.Now().Add(delay).After(deadline) {
			return nil, &Error{Message: fmt.Sprintf("connection refused by %s for %v: is the starfleet-secrets extension attached (layer or /opt/extensions) and STARFLEET_SECRETS_PORT right?", c.base, retryFor)}
		}
		if err := pause(ctx, delay); err != nil {
			return nil, err
		}
		delay = min(2*delay, 200*time.Millisecond)
	}
}

// read turns an answer into a value or an *Error; known is what a 304
// confirms.
func (c *Client) read(path string, resp *http.Response, known answer) (json.RawMessage, error) {
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return nil, &Error{Status: resp.StatusCode, Message: "reading the answer: " + err.Error()}
	}
	switch resp.StatusCode {
	case http.StatusOK:
		c.mu.Lock()
		c.known[path] = answer{etag: resp.Header.Get("ETag"), body: body}
		c.mu.Unlock()
		return bytes.Clone(body), nil
	case http.StatusNotModified:
		return bytes.Clone(known.body), nil
	}
	e := &Error{Status: resp.StatusCode}
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

// pause waits d, or until ctx is done.
func pause(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
