// Package extension is a client for the AWS Lambda Extensions API
// (register, event/next, init/error, exit/error), the event loop built on
// it, and the rules each execution model sets an extension (model.go).
//
// An external extension registers once during the function's init phase,
// then calls Next (or Loop) for as long as the execution environment lives.
// Lambda freezes the environment while every extension is blocked in Next, so
// work for an invoke must be finished before asking for the next event.
//
// Every call that waits takes a context.Context; Next in particular may block
// for minutes or hours while the function is idle, so the client never sets an
// overall HTTP timeout of its own.
package extension

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
)

// Header names of the Extensions API, shared with the fake platform.
const (
	HeaderName          = "Lambda-Extension-Name"
	HeaderID            = "Lambda-Extension-Identifier"
	HeaderEventID       = "Lambda-Extension-Event-Identifier"
	HeaderErrorType     = "Lambda-Extension-Function-Error-Type"
	HeaderAcceptFeature = "Lambda-Extension-Accept-Feature"
)

// Limits on what is read from the platform. Its answers are small; the bounds
// only protect the extension from a misbehaving endpoint.
const (
	maxBody         = 1 << 20 // successful answers
	maxErrorBody    = 64 << 10
	maxErrorMessage = 1 << 10 // what an APIError keeps of the platform's message
)

// APIError is a non-2xx answer of the Extensions API.
type APIError struct {
	Op         string // endpoint, relative to the API base: "register", "event/next", ...
	StatusCode int
	ErrorType  string // the platform's errorType, e.g. "Extension.UnknownExtensionIdentifier"
	Message    string // the platform's errorMessage (or raw body), at most 1 KiB
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d %s", e.Op, e.StatusCode, http.StatusText(e.StatusCode))
	if e.ErrorType != "" {
		fmt.Fprintf(&b, " (%s)", e.ErrorType)
	}
	if e.Message != "" {
		fmt.Fprintf(&b, ": %s", e.Message)
	}
	return b.String()
}

// Client talks to the Extensions API of one execution environment.
// Its methods are safe for concurrent use, though the API itself expects one
// outstanding Next per extension.
type Client struct {
	base string
	hc   *http.Client

	mu sync.Mutex
	id string // Lambda-Extension-Identifier, set by Register
}

// NewClient returns a client for the API at runtimeAPI, the value of
// AWS_LAMBDA_RUNTIME_API ("host:port"). If httpClient is nil, one that
// keeps a single connection to the platform and starts no goroutines is
// used (see apiTransport), with no overall timeout: Next legitimately
// blocks for as long as the function is idle, so cancellation is left to
// the contexts.
func NewClient(runtimeAPI string, httpClient *http.Client) *Client {
	if httpClient == nil {
		httpClient = &http.Client{Transport: &apiTransport{}}
	}
	return &Client{
		base: "http://" + runtimeAPI + "/2020-01-01/extension",
		hc:   httpClient,
	}
}

// Register registers the extension under name for events (INVOKE and
// SHUTDOWN if none are given) and remembers the identifier the platform
// assigns. Lambda only accepts registrations during the init phase, and
// external extensions must register with the name of their executable.
func (c *Client) Register(ctx context.Context, name string, events ...EventType) (Registration, error) {
	if len(events) == 0 {
		events = []EventType{Invoke, Shutdown}
	}
	body, err := registerBody(events)
	if err != nil {
		return Registration{}, fmt.Errorf("extension: register: %w", err)
	}
	h := http.Header{}
	h.Set(HeaderName, name)
	// Without this feature flag the platform leaves accountId out.
	h.Set(HeaderAcceptFeature, "accountId")

	resp, err := c.do(ctx, http.MethodPost, "register", h, body)
	if err != nil {
		return Registration{}, fmt.Errorf("extension: %w", err)
	}
	defer closeBody(resp.Body)

	id := resp.Header.Get(HeaderID)
	if id == "" {
		return Registration{}, fmt.Errorf("extension: register: answer has no %s header", HeaderID)
	}
	var reg Registration
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxBody)).Decode(&reg); err != nil {
		return Registration{}, fmt.Errorf("extension: register: decoding answer: %w", err)
	}
	c.mu.Lock()
	c.id = id
	c.mu.Unlock()
	return reg, nil
}

// registerBody is {"events":[...]}, written by hand: encoding/json's
// first use builds its encoders by reflection, a cost the extension would
// pay before registering, where every CPU millisecond delays the function.
// Event types are upper-case words, which need no escaping.
func registerBody(events []EventType) ([]byte, error) {
	b := []byte(`{"events":[`)
	for i, e := range events {
		if e == "" || strings.TrimFunc(string(e), func(r rune) bool { return 'A' <= r && r <= 'Z' || r == '_' }) != "" {
			return nil, fmt.Errorf("event type %q is not an upper-case word", e)
		}
		if i > 0 {
			b = append(b, ',')
		}
		b = append(append(append(b, '"'), e...), '"')
	}
	return append(b, "]}"...), nil
}

// ExtensionID returns the identifier assigned by Register, or "" before a
// successful Register.
func (c *Client) ExtensionID() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.id
}

// Next tells the platform the extension is done with the previous event and
// blocks until it sends the next one. While every extension waits here, Lambda
// may freeze the environment.
func (c *Client) Next(ctx context.Context) (Event, error) {
	ev, err := c.next(ctx)
	if err != nil {
		return Event{}, fmt.Errorf("extension: %w", err)
	}
	return ev, nil
}

func (c *Client) next(ctx context.Context) (Event, error) {
	h, err := c.idHeader("event/next")
	if err != nil {
		return Event{}, err
	}
	resp, err := c.do(ctx, http.MethodGet, "event/next", h, nil)
	if err != nil {
		return Event{}, err
	}
	defer closeBody(resp.Body)

	var ev Event
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxBody)).Decode(&ev); err != nil {
		return Event{}, fmt.Errorf("event/next: decoding event: %w", err)
	}
	return ev, nil
}

// InitError reports that the extension failed to initialize. Lambda then
// fails the init phase with errorType; the extension should exit afterwards.
func (c *Client) InitError(ctx context.Context, errorType string, err error) error {
	return c.reportError(ctx, "init/error", errorType, err)
}

// ExitError reports that the extension is about to exit because of err, so the
// platform can surface errorType instead of an unexplained exit.
func (c *Client) ExitError(ctx context.Context, errorType string, err error) error {
	return c.reportError(ctx, "exit/error", errorType, err)
}

func (c *Client) reportError(ctx context.Context, op, errorType string, reported error) error {
	if errorType == "" {
		// The platform rejects the call without the error-type header.
		return fmt.Errorf("extension: %s: empty error type", op)
	}
	h, err := c.idHeader(op)
	if err != nil {
		return fmt.Errorf("extension: %w", err)
	}
	h.Set(HeaderErrorType, errorType)

	msg := ""
	if reported != nil {
		msg = reported.Error()
	}
	body, err := json.Marshal(struct {
		ErrorMessage string   `json:"errorMessage"`
		ErrorType    string   `json:"errorType"`
		StackTrace   []string `json:"stackTrace"`
	}{msg, errorType, []string{}})
	if err != nil {
		return fmt.Errorf("extension: %s: %w", op, err)
	}
	resp, err := c.do(ctx, http.MethodPost, op, h, body)
	if err != nil {
		return fmt.Errorf("extension: %w", err)
	}
	closeBody(resp.Body)
	return nil
}

// Loop calls Next until a SHUTDOWN event arrives and returns it. Each INVOKE
// is passed to onInvoke (if not nil), synchronously: the next event is only
// requested once onInvoke returns, which is what tells Lambda the extension
// has finished with the invoke. Event types the client does not know are
// skipped, so a platform that grows new events does not break the loop.
func (c *Client) Loop(ctx context.Context, onInvoke func(context.Context, Event)) (Event, error) {
	for invokes := 0; ; {
		ev, err := c.next(ctx)
		if err != nil {
			return Event{}, fmt.Errorf("extension: loop (after %d invokes): %w", invokes, err)
		}
		switch ev.EventType {
		case Shutdown:
			return ev, nil
		case Invoke:
			invokes++
			if onInvoke != nil {
				onInvoke(ctx, ev)
			}
		}
	}
}

// idHeader returns a header carrying the extension identifier, which the
// platform requires on every call after register.
func (c *Client) idHeader(op string) (http.Header, error) {
	id := c.ExtensionID()
	if id == "" {
		return nil, fmt.Errorf("%s: not registered", op)
	}
	h := http.Header{}
	h.Set(HeaderID, id)
	return h, nil
}

// do sends one request to the endpoint op and returns the answer if it is a
// 2xx; any other status becomes an *APIError. Errors are prefixed with op but
// not with the package name, so callers can add their own context once.
func (c *Client) do(ctx context.Context, method, op string, h http.Header, body []byte) (*http.Response, error) {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+"/"+op, r)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	req.Header = h
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	if resp.StatusCode/100 == 2 {
		return resp, nil
	}
	defer closeBody(resp.Body)
	return nil, newAPIError(op, resp)
}

// newAPIError reads the platform's error answer, which is normally
// {"errorMessage": ..., "errorType": ...} but may be anything when a proxy or
// a broken platform answers.
func newAPIError(op string, resp *http.Response) *APIError {
	e := &APIError{Op: op, StatusCode: resp.StatusCode}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	var body struct {
		ErrorMessage string `json:"errorMessage"`
		ErrorType    string `json:"errorType"`
	}
	switch {
	case json.Unmarshal(raw, &body) == nil && (body.ErrorType != "" || body.ErrorMessage != ""):
		e.ErrorType, e.Message = body.ErrorType, body.ErrorMessage
	default:
		e.Message = strings.TrimSpace(string(raw))
		if err != nil && e.Message == "" {
			e.Message = "reading error body: " + err.Error()
		}
	}
	e.Message = truncate(e.Message, maxErrorMessage)
	e.ErrorType = truncate(e.ErrorType, maxErrorMessage)
	return e
}

// truncate shortens s to at most n bytes, marking the cut with an ellipsis
// and never splitting a UTF-8 sequence.
func truncate(s string, n int) string {
	const mark = "…"
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n-len(mark)], "") + mark
}

// closeBody drains a bounded amount of what is left, so the connection can be
// reused, and closes the body.
func closeBody(body io.ReadCloser) {
	_, _ = io.Copy(io.Discard, io.LimitReader(body, maxErrorBody))
	_ = body.Close()
}
