// Package server is the extension's HTTP API: the routes, the token check,
// the response headers and the JSON errors of the interface contract, for
// the slice API, the AWS layer's GET API and the services' own protocol.
// It decides nothing about freshness; it asks a Store. What carries it is
// package loopback; what checks a signature, package sigv4.
package server

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/go-chi/chi/v5"

	"github.com/starfleet/starfleet-secrets/cache"
	"github.com/starfleet/starfleet-secrets/item"
	"github.com/starfleet/starfleet-secrets/metrics"
	"github.com/starfleet/starfleet-secrets/server/access"
	"github.com/starfleet/starfleet-secrets/server/sdkproto"
)

// TokenHeader carries the caller's token: access.TokenHeader.
const TokenHeader = access.TokenHeader

// Store is what the server reads secrets from; *cache.Cache implements it.
type Store interface {
	Get(ctx context.Context, key item.Key, force bool) (cache.Result, error)
	Primary() item.Key
	// Layout is where the slices are: in the primary, or one secret each.
	Layout() cache.Layout
	Ready() bool
	Status(key item.Key) cache.Status
	// GetParameters answers keys as Parameter Store's GetParameters does.
	GetParameters(ctx context.Context, keys []item.ParameterKey) ([]cache.Result, []error)
	// Invalidate drops the values a write made stale.
	Invalidate(stale func(item.Key, *item.Value) bool)
}

// Options configure the handler.
type Options struct {
	Store Store
	// Token is the value every data request must present. It must not be
	// empty: the server never serves secrets unauthenticated.
	Token string
	// Allow lists the slices this function may read; empty allows all.
	Allow []string
	// Roles lists the role ARNs a request may name in roleArn; "*" allows
	// any, empty none.
	Roles []string
	// Now is the wall clock for Age headers; nil means time.Now.
	Now    func() time.Time
	Logger *slog.Logger
	// Metrics, if set, counts answered data requests by status.
	Metrics *metrics.Recorder
	// Settings names the program's settings in error answers.
	Settings Settings
	// AWS, if set, checks the signatures of the SDK's protocol and passes
	// on the operations the cache does not answer; without it (local
	// file mode) POST / answers cached reads to the token alone.
	AWS sdkproto.AWS
	// ForwardTimeout bounds one operation passed to the service; zero
	// means 10 s.
	ForwardTimeout time.Duration
}

type handler struct {
	store Store
	// primaryID names the Starfleet secret as configured, for the access
	// policy and /health.
	primaryID string
	sdk       http.Handler // POST /: the services' own protocol
	token     *access.Token
	access    access.Policy
	now       func() time.Time
	log       *slog.Logger
	metrics   *metrics.Recorder
	settings  Settings
	hints     hints
	// etagKey keys the HMAC that derives the ETags of whole answers, so
	// that an ETag reveals nothing about a low-entropy value.
	etagKey []byte
	// ages holds the Age header values of the first hour, each made the
	// first time it is needed: building them all would cost every cold
	// start.
	ages [3600]atomic.Pointer[[]string]
}

// New returns the HTTP API. It panics if o.Token is empty, a programming
// error: configuration refuses to start without a token.
func New(o Options) http.Handler {
	if o.Token == "" {
		panic("server: empty token")
	}
	h := &handler{
		store:    o.Store,
		token:    access.NewToken(o.Token),
		now:      o.Now,
		log:      o.Logger,
		metrics:  o.Metrics,
		settings: o.Settings,
		hints:    newHints(o.Settings),
		etagKey:  []byte(rand.Text()),
	}
	if h.now == nil {
		h.now = time.Now
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if primary, ok := o.Store.Primary().(item.SecretKey); ok {
		h.primaryID = primary.ID
	}
	h.access = access.New(h.primaryID, o.Allow, o.Roles).WithSlicePrefix(o.Store.Layout().Prefix)
	h.sdk = sdkproto.New(sdkproto.Options{Store: o.Store, AWS: o.AWS, Access: h.access, Token: h.token,
		AllowSetting: o.Settings.Allow, Now: h.now, Logger: h.log, ForwardTimeout: o.ForwardTimeout})

	r := h.routes()
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		// A connection's routing context (see ConnContext) serves its
		// requests one after another: made ready for this one here, it
		// spares chi a context and a request copy per request.
		if rctx := chi.RouteContext(req.Context()); rctx != nil {
			rctx.Reset()
			rctx.Routes = r
		}
		r.ServeHTTP(w, req)
	})
}

// routes is the contract's routes, behind its common checks.
func (h *handler) routes() chi.Router {
	r := chi.NewRouter()
	r.Use(h.countReads, h.recoverer, commonHeaders, rejectForwarded, onlyGetAndHead)
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "NotFound", "no such route; the routes are /secret, /secret/{slice}, /secret/{slice}/{key}, /secretsmanager/get, /systemsmanager/parameters/get and /health")
	})
	r.MethodNotAllowed(methodNotAllowed)
	getAndHead(r, "/health", h.health)
	// The SDK's protocol checks its callers itself: by signature, or the
	// token.
	r.Post("/", h.sdk.ServeHTTP)
	r.Group(func(r chi.Router) {
		r.Use(h.requireToken)
		getAndHead(r, "/secret", h.getAllSlices)
		getAndHead(r, "/secret/{slice}", h.getSlice)
		getAndHead(r, "/secret/{slice}/{key}", h.getSlice)
		getAndHead(r, "/secretsmanager/get", h.getSecretValue)
		// Some clients of the AWS layer add a trailing slash.
		getAndHead(r, "/systemsmanager/parameters/get", h.getParameter)
		getAndHead(r, "/systemsmanager/parameters/get/", h.getParameter)
	})
	return r
}

// ConnContext gives each connection one chi routing context, which the
// handler New returns reuses for the connection's requests: HTTP/1.1 serves
// them one at a time, so one context per connection is enough, and routing
// a warm read then allocates no context per request. NewHTTPServer
// installs it.
func ConnContext(ctx context.Context, _ net.Conn) context.Context {
	return context.WithValue(ctx, chi.RouteCtxKey, chi.NewRouteContext())
}

// getAndHead routes both methods to one handler; net/http drops the body of
// an answer to HEAD. (chi's middleware.GetHead would do it too, but its
// package links net/http/pprof and expvar into the binary.)
func getAndHead(r chi.Router, pattern string, h http.HandlerFunc) {
	r.Get(pattern, h)
	r.Head(pattern, h)
}

// LongestAnswer is the server's write timeout at fetchTimeout, the longest
// a handler holds a value it answers with (a second more where the
// loopback listener enforces it): a request may wait on one upstream fetch,
// or one operation passed to the service, with room left to answer.
func LongestAnswer(fetchTimeout time.Duration) time.Duration { return fetchTimeout + 10*time.Second }

// NewHTTPServer wraps h with timeouts that stop a client from holding a
// connection by trickling its headers or never reading the answer.
func NewHTTPServer(h http.Handler, fetchTimeout time.Duration, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		// Equal to ReadHeaderTimeout, so that net/http sets one read
		// deadline per request instead of two: only the SDK's protocol
		// sends a body, at most 1 MiB, from the same machine.
		ReadTimeout:    5 * time.Second,
		WriteTimeout:   LongestAnswer(fetchTimeout),
		IdleTimeout:    5 * time.Minute,
		MaxHeaderBytes: 16 << 10,
		ConnContext:    ConnContext,
		ErrorLog:       slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
}

func (h *handler) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				// The panic value is not logged: it could hold anything.
				h.log.Error("handler panicked", "event", "panic", "path", r.URL.Path)
				writeError(w, http.StatusInternalServerError, "InternalError", "the extension failed to answer; this is a bug, please report it")
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// countReads counts every answered request but health checks by status.
func (h *handler) countReads(next http.Handler) http.Handler {
	if h.metrics == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/health" {
			next.ServeHTTP(w, r)
			return
		}
		sw := statusWriters.Get().(*statusWriter)
		sw.ResponseWriter, sw.status = w, 0
		next.ServeHTTP(sw, r)
		if sw.status != 0 {
			h.metrics.Read(sw.status)
		}
		sw.ResponseWriter = nil
		statusWriters.Put(sw)
	})
}

// statusWriters recycles the wrappers countReads puts around every answer.
var statusWriters = sync.Pool{New: func() any { return new(statusWriter) }}

// statusWriter remembers the status a handler answered.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func commonHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h["Cache-Control"] = headerNoStore
		h["X-Content-Type-Options"] = headerNosniff
		next.ServeHTTP(w, r)
	})
}

// rejectForwarded refuses proxied requests: a request that passed through a
// proxy did not come from this sandbox's own code (SSRF defence, as the AWS
// agent does).
func rejectForwarded(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := r.Header["X-Forwarded-For"]; ok {
			const message = "requests carrying X-Forwarded-For are refused: the API is for local callers only"
			if isSDKRequest(r) {
				sdkproto.WriteError(w, http.StatusBadRequest, "AccessDeniedException", message)
				return
			}
			writeError(w, http.StatusBadRequest, "ForwardedRequest", message)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// isSDKRequest reports whether r is a request of the SDK's protocol.
func isSDKRequest(r *http.Request) bool { return r.Method == http.MethodPost && r.URL.Path == "/" }

func onlyGetAndHead(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead && !isSDKRequest(r) {
			methodNotAllowed(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func methodNotAllowed(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Allow", "GET, HEAD")
	writeError(w, http.StatusMethodNotAllowed, "MethodNotAllowed", "only GET and HEAD are allowed (and POST on /, the AWS SDKs' own protocol)")
}

func (h *handler) requireToken(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok := r.Header[TokenHeader]
		if !ok || len(got) == 0 || got[0] == "" {
			h.logDenied(r, "MissingToken")
			writeError(w, http.StatusForbidden, "MissingToken", "set the "+TokenHeader+" header to the function's AWS_SESSION_TOKEN (or "+orWords(h.settings.Token, "the extension's configured token")+")")
			return
		}
		if !h.token.Matches(got[0]) {
			h.logDenied(r, "InvalidToken")
			writeError(w, http.StatusForbidden, "InvalidToken", "the "+TokenHeader+" header does not match the expected token")
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (h *handler) logDenied(r *http.Request, code string) {
	h.log.Warn("request refused", "event", "request_error", "status", http.StatusForbidden, "error_code", code, "path", r.URL.Path)
}

// logRequestError logs a request answered with an error; attrs name what
// it asked for.
func (h *handler) logRequestError(r *http.Request, status int, code string, attrs ...any) {
	h.log.Info("request failed", append([]any{"event", "request_error", "status", status, "error_code", code, "path", r.URL.Path}, attrs...)...)
}

// writeFetchError answers a failed read with the route's hints and logs
// it, unless the caller is gone and nobody reads an answer.
func (h *handler) writeFetchError(w http.ResponseWriter, r *http.Request, err error, hints map[string]string, attrs ...any) {
	if r.Context().Err() != nil {
		return
	}
	status, code := writeUpstreamError(w, err, hints)
	h.logRequestError(r, status, code, attrs...)
}

// refuseWholeSecret answers a read of the whole Starfleet secret by a
// function limited to some of its slices.
func (h *handler) refuseWholeSecret(w http.ResponseWriter, r *http.Request, attrs ...any) {
	h.logRequestError(r, http.StatusForbidden, "SecretNotAllowed", attrs...)
	writeError(w, http.StatusForbidden, "SecretNotAllowed", orWords(h.settings.Allow, "the extension's allow-list")+
		" limits this function to some slices of the Starfleet secret; read them with /secret/{slice}")
}

// health answers whether the Starfleet secret is loaded, with what an
// operator needs to see why not: never any part of the value.
func (h *handler) health(w http.ResponseWriter, r *http.Request) {
	if _, ok := h.routeQuery(w, r, nil); !ok {
		return
	}
	var body healthBody
	if layout := h.store.Layout(); layout.Split() {
		body = healthBody{SlicePrefix: layout.Prefix, Slices: make(map[string]secretHealth, len(layout.Slices))}
		for _, name := range layout.Slices {
			key, _ := layout.Key(name)
			body.Slices[name] = h.secretHealth(key)
		}
	} else {
		body = healthBody{SecretID: h.primaryID, secretHealth: h.secretHealth(h.store.Primary())}
	}
	body.Status = "ready"
	status := http.StatusOK
	if !h.store.Ready() {
		status, body.Status = http.StatusServiceUnavailable, "starting"
	}
	b, _ := json.Marshal(body)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

type healthBody struct {
	Status   string `json:"status"`
	SecretID string `json:"secret_id,omitempty"`
	secretHealth
	// The split layout: the prefix, and each slice's secret.
	SlicePrefix string                  `json:"slice_prefix,omitempty"`
	Slices      map[string]secretHealth `json:"slices,omitempty"`
}

// secretHealth is what /health says of one secret: never its value.
type secretHealth struct {
	AgeSeconds    *int64 `json:"secret_age_s,omitempty"`
	VersionID     string `json:"version_id,omitempty"`
	LastErrorCode string `json:"last_error_code,omitempty"`
}

func (h *handler) secretHealth(key item.Key) secretHealth {
	st := h.store.Status(key)
	sh := secretHealth{VersionID: st.VersionID, LastErrorCode: st.LastErrorCode}
	if !st.FetchedAt.IsZero() {
		age := ageSeconds(st.FetchedAt, h.now())
		sh.AgeSeconds = &age
	}
	return sh
}

// pathName extracts and validates a slice or key name from the path, writing
// the 400 itself when it is malformed.
func (h *handler) pathName(w http.ResponseWriter, r *http.Request, param string) (string, bool) {
	// chi routes on RawPath when net/http kept one (the path had escapes
	// that decoding would lose, such as %2F) and on the decoded Path
	// otherwise: decode the parameter in the first case only, so that a
	// name is decoded exactly once ("100%25" is "100%", "a%2541" is "a%41").
	name := chi.URLParam(r, param)
	var err error
	if r.URL.RawPath != "" {
		name, err = url.PathUnescape(name)
	}
	if err == nil {
		err = ValidateName(name)
	}
	if err != nil {
		h.logRequestError(r, http.StatusBadRequest, "InvalidName")
		writeError(w, http.StatusBadRequest, "InvalidName", fmt.Sprintf("the %s name in the path is malformed: %v", param, err))
		return "", false
	}
	return name, true
}

// MaxNameLength bounds slice and key names.
const MaxNameLength = 256

// ValidateName accepts what a slice or key name can reasonably be: 1 to 256
// bytes of UTF-8 with no control characters.
func ValidateName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("empty")
	case len(name) > MaxNameLength:
		return fmt.Errorf("longer than %d bytes", MaxNameLength)
	case !utf8.ValidString(name):
		return fmt.Errorf("not valid UTF-8")
	case strings.ContainsFunc(name, unicode.IsControl):
		return fmt.Errorf("contains a control character")
	}
	return nil
}
