package upstreamtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// MaxRequestBody bounds the request bodies the Proxy reads. Larger requests
// are answered with 413 and not forwarded. Real Secrets Manager requests are
// far smaller (a secret value is at most 64 KiB).
const MaxRequestBody = 1 << 20

// amzJSON is the content type of Secrets Manager requests and responses.
const amzJSON = "application/x-amz-json-1.1"

// Fault is a failure the Proxy injects instead of (or before) forwarding a
// request to the upstream.
type Fault int

const (
	// NoFault forwards the request unchanged.
	NoFault Fault = iota
	// Throttle answers 400 {"__type":"ThrottlingException","message":"Rate exceeded"}.
	Throttle
	// InternalError answers 500 {"__type":"InternalServiceError",...}.
	InternalError
	// Slow holds the request, exactly as Hold does, until Release (or Close,
	// or the client gives up), then forwards it.
	Slow
	// Reset hijacks the connection and closes it without answering; the
	// client sees a connection reset or EOF.
	Reset
	// Garbage answers 200 with a body that is not JSON.
	Garbage
	// AccessDenied answers 400 {"__type":"AccessDeniedException",...}.
	AccessDenied
	// NotFound answers 400 {"__type":"ResourceNotFoundException",...}.
	NotFound
	// ExpiredToken answers 400 {"__type":"ExpiredTokenException",...}: the
	// request's credentials expired before their time.
	ExpiredToken
)

var faultNames = [...]string{"NoFault", "Throttle", "InternalError", "Slow", "Reset", "Garbage", "AccessDenied", "NotFound", "ExpiredToken"}

func (f Fault) String() string {
	if f >= 0 && int(f) < len(faultNames) {
		return faultNames[f]
	}
	return "Fault(" + strconv.Itoa(int(f)) + ")"
}

// Proxy is an httptest-style reverse proxy in front of an upstream (moto).
// It counts requests by operation, taken from the X-Amz-Target header
// ("secretsmanager.GetSecretValue" -> "GetSecretValue",
// "AmazonSSM.GetParameter" -> "GetParameter"),
// can inject a Fault per operation, and can hold requests in flight until the
// test releases them.
//
// In every method, op "" means every operation. Its methods are safe for
// concurrent use.
type Proxy struct {
	srv       *httptest.Server
	rp        *httputil.ReverseProxy
	transport *http.Transport
	closing   chan struct{}
	closeOnce sync.Once

	mu        sync.Mutex
	total     int
	counts    map[string]int
	secrets   map[opSecret]int
	signed    map[string][]Signature // by operation
	faults    map[string]Fault
	faultLeft map[string]int // remaining uses of a SetFaultN fault
	holding   map[string]bool
	release   map[string]chan struct{} // closed by Release(op) to free op's held requests
	held      map[string]int
	heldTotal int
	changed   chan struct{} // closed and replaced whenever a count changes
	requestID int
}

type opSecret struct{ op, secret string }

// NewProxy starts a Proxy listening on 127.0.0.1:0 that forwards to
// upstreamURL. It panics if upstreamURL is not an absolute URL, like
// httptest.NewServer panics on failure. Close it when done.
func NewProxy(upstreamURL string) *Proxy {
	upstream, err := url.Parse(upstreamURL)
	if err != nil || upstream.Scheme == "" || upstream.Host == "" {
		panic(fmt.Sprintf("upstreamtest: NewProxy: bad upstream URL %q: %v", upstreamURL, err))
	}
	p := &Proxy{
		transport: http.DefaultTransport.(*http.Transport).Clone(),
		closing:   make(chan struct{}),
		counts:    make(map[string]int),
		secrets:   make(map[opSecret]int),
		signed:    make(map[string][]Signature),
		faults:    make(map[string]Fault),
		faultLeft: make(map[string]int),
		holding:   make(map[string]bool),
		release:   make(map[string]chan struct{}),
		held:      make(map[string]int),
		changed:   make(chan struct{}),
	}
	p.rp = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(upstream)
			pr.Out.Host = pr.In.Host // keep the Host the client signed
		},
		Transport: p.transport,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if r.Context().Err() != nil {
				return // the client is gone; nobody to answer
			}
			http.Error(w, "upstreamtest proxy: upstream: "+err.Error(), http.StatusBadGateway)
		},
	}
	p.srv = httptest.NewServer(http.HandlerFunc(p.serveHTTP))
	return p
}

// URL is the proxy's base URL, "http://127.0.0.1:port".
func (p *Proxy) URL() string { return p.srv.URL }

// Close releases all held requests (they are aborted, not forwarded), stops
// the server and waits for in-flight requests to finish. It is idempotent.
func (p *Proxy) Close() {
	p.closeOnce.Do(func() {
		close(p.closing)
		p.srv.Close()
		p.transport.CloseIdleConnections()
	})
}

// Count is the number of requests for op that arrived at the proxy,
// including faulted and held ones. Count("") is the total for all
// operations.
func (p *Proxy) Count(op string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.countLocked(op)
}

func (p *Proxy) countLocked(op string) int {
	if op == "" {
		return p.total
	}
	return p.counts[op]
}

// CountSecret is the number of requests for op whose JSON body had
// "SecretId": secretID (as sent: name or ARN), or, for Parameter Store,
// "Name": secretID, or named it in a batch's SecretIdList or Names. op ""
// counts every operation.
func (p *Proxy) CountSecret(op, secretID string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if op != "" {
		return p.secrets[opSecret{op, secretID}]
	}
	n := 0
	for k, v := range p.secrets {
		if k.secret == secretID {
			n += v
		}
	}
	return n
}

// ResetCounts sets all counts to zero. It does not affect held requests.
func (p *Proxy) ResetCounts() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.total = 0
	clear(p.counts)
	clear(p.secrets)
	clear(p.signed)
	p.broadcastLocked()
}

// Signature is who signed a request, and for where: the access key id, and
// the region and service of its SigV4 credential scope.
type Signature struct {
	AccessKeyID, Region, Service string
}

// Signatures lists the signatures of op's requests, in arrival order.
func (p *Proxy) Signatures(op string) []Signature {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.signed[op])
}

// signatureOf reads a SigV4 Authorization header's credential scope:
// "AWS4-HMAC-SHA256 Credential=AKID/DATE/REGION/SERVICE/aws4_request, ...".
func signatureOf(r *http.Request) Signature {
	_, cred, _ := strings.Cut(r.Header.Get("Authorization"), "Credential=")
	cred, _, _ = strings.Cut(cred, ",")
	parts := strings.Split(cred, "/")
	if len(parts) < 4 {
		return Signature{}
	}
	return Signature{AccessKeyID: parts[0], Region: parts[2], Service: parts[3]}
}

// WaitCount blocks until Count(op) >= n or ctx ends, returning ctx's error
// in the latter case.
func (p *Proxy) WaitCount(ctx context.Context, op string, n int) error {
	return p.wait(ctx, func() bool { return p.countLocked(op) >= n },
		func() string { return fmt.Sprintf("Count(%q) = %d, want >= %d", op, p.countLocked(op), n) })
}

// Held is the number of requests for op currently held by Hold or a Slow
// fault. Held("") is the total.
func (p *Proxy) Held(op string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.heldLocked(op)
}

func (p *Proxy) heldLocked(op string) int {
	if op == "" {
		return p.heldTotal
	}
	return p.held[op]
}

// WaitHeld blocks until at least n requests for op are being held (by Hold or
// a Slow fault) or ctx ends.
func (p *Proxy) WaitHeld(ctx context.Context, op string, n int) error {
	return p.wait(ctx, func() bool { return p.heldLocked(op) >= n },
		func() string { return fmt.Sprintf("Held(%q) = %d, want >= %d", op, p.heldLocked(op), n) })
}

func (p *Proxy) wait(ctx context.Context, done func() bool, state func() string) error {
	for {
		p.mu.Lock()
		if done() {
			p.mu.Unlock()
			return nil
		}
		ch := p.changed
		p.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			p.mu.Lock()
			s := state()
			p.mu.Unlock()
			return fmt.Errorf("upstreamtest: %s: %w", s, ctx.Err())
		}
	}
}

// broadcastLocked wakes every waiter. p.mu must be held.
func (p *Proxy) broadcastLocked() {
	close(p.changed)
	p.changed = make(chan struct{})
}

// SetFault makes every following request for op fail with f, until changed.
// op "" sets the fault for every operation; a fault set for a specific
// operation (other than NoFault) takes precedence over it. SetFault(op,
// NoFault) clears op's own fault.
func (p *Proxy) SetFault(op string, f Fault) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.faultLeft, op)
	if f == NoFault {
		delete(p.faults, op)
	} else {
		p.faults[op] = f
	}
}

// SetFaultN makes the next n requests for op fail with f; after that op's
// own fault reverts to NoFault. Use it for "fails twice, then succeeds".
func (p *Proxy) SetFaultN(op string, f Fault, n int) {
	if n <= 0 {
		f = NoFault
	}
	p.SetFault(op, f)
	if f != NoFault {
		p.mu.Lock()
		p.faultLeft[op] = n
		p.mu.Unlock()
	}
}

// ClearFaults removes every fault set by SetFault or SetFaultN.
func (p *Proxy) ClearFaults() {
	p.mu.Lock()
	defer p.mu.Unlock()
	clear(p.faults)
	clear(p.faultLeft)
}

// takeFaultLocked returns the fault for one request for op, consuming a
// SetFaultN use.
func (p *Proxy) takeFaultLocked(op string) Fault {
	for _, key := range []string{op, ""} {
		f, ok := p.faults[key]
		if !ok {
			continue
		}
		if left, limited := p.faultLeft[key]; limited {
			if left <= 1 {
				delete(p.faults, key)
				delete(p.faultLeft, key)
			} else {
				p.faultLeft[key] = left - 1
			}
		}
		return f
	}
	return NoFault
}

// Hold makes following requests for op (every operation for "") block in
// the proxy, before forwarding, until Release. They count as arrived as soon
// as they reach the proxy. Use WaitHeld to know they are blocked.
func (p *Proxy) Hold(op string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.holding[op] = true
}

// Release stops holding op and lets every request for op currently held
// (by Hold or a Slow fault) proceed. Release("") does so for every
// operation. A Slow fault stays in place for later requests.
func (p *Proxy) Release(op string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if op == "" {
		clear(p.holding)
		for k, ch := range p.release {
			close(ch)
			delete(p.release, k)
		}
		return
	}
	delete(p.holding, op)
	if ch, ok := p.release[op]; ok {
		close(ch)
		delete(p.release, op)
	}
}

// iamService is the IAM service prefix of the request's API, for the
// messages of injected faults.
func iamService(r *http.Request) string {
	if strings.HasPrefix(r.Header.Get("X-Amz-Target"), "AmazonSSM.") {
		return "ssm"
	}
	return "secretsmanager"
}

// operation extracts the operation from X-Amz-Target.
func operation(r *http.Request, body []byte) string {
	t := r.Header.Get("X-Amz-Target")
	if i := strings.LastIndexByte(t, '.'); i >= 0 {
		return t[i+1:]
	}
	if t == "" && strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		// A query-protocol service (STS): the operation is the Action.
		if form, err := url.ParseQuery(string(body)); err == nil {
			return form.Get("Action")
		}
	}
	return t
}

func (p *Proxy) serveHTTP(w http.ResponseWriter, r *http.Request) {
	body, readErr := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxRequestBody))
	op := operation(r, body)
	var secretID string
	var batch []string // BatchGetSecretValue's SecretIdList, GetParameters' Names
	if readErr == nil {
		var in struct {
			SecretId, Name      string
			SecretIdList, Names []string
		}
		if json.Unmarshal(body, &in) == nil {
			secretID = in.SecretId + in.Name // Parameter Store names it Name
			batch = append(in.SecretIdList, in.Names...)
		}
	}

	p.mu.Lock()
	p.total++
	if op != "" {
		p.counts[op]++
	}
	if secretID != "" {
		p.secrets[opSecret{op, secretID}]++
	}
	for _, id := range batch {
		p.secrets[opSecret{op, id}]++
	}
	p.signed[op] = append(p.signed[op], signatureOf(r))
	fault := NoFault
	if readErr == nil {
		fault = p.takeFaultLocked(op)
	}
	var release chan struct{}
	if readErr == nil && (fault == Slow || p.holding[op] || p.holding[""]) {
		release = p.release[op]
		if release == nil {
			release = make(chan struct{})
			p.release[op] = release
		}
		p.held[op]++
		p.heldTotal++
	}
	p.requestID++
	reqID := fmt.Sprintf("upstreamtest-%08d", p.requestID)
	p.broadcastLocked()
	p.mu.Unlock()

	if readErr != nil {
		var tooBig *http.MaxBytesError
		if errors.As(readErr, &tooBig) {
			http.Error(w, "upstreamtest proxy: request body too large", http.StatusRequestEntityTooLarge)
		}
		return // otherwise the client is gone
	}

	if release != nil {
		p.hold(r, op, release)
	}

	p.answer(w, r, fault, op, secretID, reqID, body)
}

// hold keeps a request of op until release is closed; a request whose
// client left, or that the proxy's closing cut off, is dropped without an
// answer.
func (p *Proxy) hold(r *http.Request, op string, release chan struct{}) {
	var err error
	select {
	case <-release:
	case <-r.Context().Done():
		err = r.Context().Err()
	case <-p.closing:
		err = errors.New("proxy closed")
	}
	p.mu.Lock()
	p.held[op]--
	p.heldTotal--
	p.broadcastLocked()
	p.mu.Unlock()
	if err != nil {
		panic(http.ErrAbortHandler) // drop the connection without an answer
	}
}

// answer answers a request as fault says: passed on to moto, or failed the
// way the service fails.
func (p *Proxy) answer(w http.ResponseWriter, r *http.Request, fault Fault, op, secretID, reqID string, body []byte) {
	switch fault {
	case NoFault, Slow:
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		p.rp.ServeHTTP(w, r)
	case Throttle:
		writeError(w, reqID, http.StatusBadRequest, "ThrottlingException", "Rate exceeded")
	case InternalError:
		writeError(w, reqID, http.StatusInternalServerError, "InternalServiceError",
			"An internal error occurred (injected by upstreamtest).")
	case AccessDenied:
		writeError(w, reqID, http.StatusBadRequest, "AccessDeniedException",
			fmt.Sprintf("User: arn:aws:iam::123456789012:user/upstreamtest is not authorized to perform: %s:%s on resource: %s because no identity-based policy allows the %[1]s:%[2]s action", iamService(r), op, secretID))
	case NotFound:
		writeError(w, reqID, http.StatusBadRequest, "ResourceNotFoundException",
			"Secrets Manager can't find the specified secret.")
	case ExpiredToken:
		writeError(w, reqID, http.StatusBadRequest, "ExpiredTokenException", "The security token included in the request is expired")
	case Garbage:
		w.Header().Set("Content-Type", amzJSON)
		w.Header().Set("X-Amzn-RequestId", reqID)
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, "<html><body>502 Bad Gateway: this is not JSON</body></html>\n")
	case Reset:
		resetConn(w)
	default:
		http.Error(w, "upstreamtest proxy: unknown fault "+fault.String(), http.StatusInternalServerError)
	}
}

// writeError writes an error the way Secrets Manager (awsJson1_1) does.
func writeError(w http.ResponseWriter, reqID string, status int, code, msg string) {
	b, _ := json.Marshal(struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
	}{code, msg})
	w.Header().Set("Content-Type", amzJSON)
	w.Header().Set("X-Amzn-RequestId", reqID)
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// resetConn closes the client connection without an answer, with an RST
// where possible.
func resetConn(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}
