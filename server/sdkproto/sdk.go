// Package sdkproto is the services' own wire protocol on POST /: AWS JSON
// 1.1 as Secrets Manager and Parameter Store speak it, so that code written
// against any AWS SDK reads through the extension unchanged. Its callers
// sign with the extension's credentials (SigV4) or send the token; its
// reads are answered from the cache, every other operation is passed to
// the service, signed again, and a write drops what it made stale. It
// answers in the services' shapes; the routes beside it, in package
// server, speak the slice API and the AWS layer's.
package sdkproto

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/starfleet/starfleet-secrets/cache"
	"github.com/starfleet/starfleet-secrets/item"
	"github.com/starfleet/starfleet-secrets/server/access"
	"github.com/starfleet/starfleet-secrets/server/sigv4"
	"github.com/starfleet/starfleet-secrets/upstream"
)

// Store is what the protocol reads from; *cache.Cache implements it.
type Store interface {
	Get(ctx context.Context, key item.Key, force bool) (cache.Result, error)
	Primary() item.Key
	// GetParameters answers keys as Parameter Store's GetParameters does.
	GetParameters(ctx context.Context, keys []item.ParameterKey) ([]cache.Result, []error)
	// Invalidate drops the values a write made stale.
	Invalidate(stale func(item.Key, *item.Value) bool)
}

// Options configure the protocol's handler.
type Options struct {
	Store Store
	// AWS, if set, checks the signatures and passes on the operations
	// the cache does not answer; without it (local file mode) cached
	// reads are answered to the token alone.
	AWS    AWS
	Access access.Policy
	Token  *access.Token
	// AllowSetting names the allow-list in refusals; "" describes it.
	AllowSetting string
	// Now is the clock signatures are checked by; nil means time.Now.
	Now    func() time.Time
	Logger *slog.Logger
	// ForwardTimeout bounds one operation passed to the service; zero
	// means 10 s.
	ForwardTimeout time.Duration
}

type handler struct {
	store          Store
	aws            AWS
	access         access.Policy
	token          *access.Token
	allowList      string // the allow-list, as refusals name it
	now            func() time.Time
	log            *slog.Logger
	forwardTimeout time.Duration
}

// New is the handler of POST /.
func New(o Options) http.Handler {
	h := &handler{store: o.Store, aws: o.AWS, access: o.Access, token: o.Token, allowList: o.AllowSetting,
		now: o.Now, log: o.Logger, forwardTimeout: o.ForwardTimeout}
	if h.allowList == "" {
		h.allowList = "the extension's allow-list"
	}
	if h.now == nil {
		h.now = time.Now
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if h.forwardTimeout <= 0 {
		h.forwardTimeout = 10 * time.Second
	}
	return http.HandlerFunc(h.sdk)
}

// WriteError answers in the services' error shape, for a refusal made
// before a request reaches the protocol.
func WriteError(w http.ResponseWriter, status int, code, message string) {
	writeSDKErrorBody(w, &sdkError{status, code, message})
}

// AWS is how the SDK's protocol reaches AWS past the cache: the
// credentials callers sign with, and the operations passed through.
// *upstream.Clients implements it.
type AWS interface {
	// Credentials are the extension's own, which a caller signs with.
	Credentials(ctx context.Context) (aws.Credentials, error)
	// RenewCredentials drops the kept credentials, rate-limited, and
	// reports whether it did.
	RenewCredentials() bool
	// HomeRegion is where a service's reads go by default.
	HomeRegion(service string) string
	Forward(ctx context.Context, call upstream.Call) (*upstream.Answer, error)
}

// maxSDKBody bounds a request body: the largest write, a 64 KiB secret
// in base64 with its JSON, is far smaller.
const maxSDKBody = 1 << 20

// sdkServices are the X-Amz-Target prefixes the extension speaks, with
// the service each names and the name its signatures are scoped to.
var sdkServices = map[string]struct{ service, signingName string }{
	"secretsmanager": {item.ServiceSecretsManager, "secretsmanager"},
	"AmazonSSM":      {item.ServiceParameterStore, "ssm"},
}

// sdkCall is one request of the SDK's protocol, its caller checked.
type sdkCall struct {
	service   string
	target    string // "secretsmanager.GetSecretValue"
	operation string // "GetSecretValue"
	region    string // the region to read in; "" is the home region
	signed    bool   // signed with SigV4, not only the token
	body      []byte
}

// sdkError is an answer in the services' error shape.
type sdkError struct {
	status        int
	code, message string
}

func (e *sdkError) Error() string { return e.code + ": " + e.message }

func validationError(message string) *sdkError {
	return &sdkError{http.StatusBadRequest, "ValidationException", message}
}

// sdkOperation answers one cached operation: its answer's body, or an
// error, or forward when the request asks for more than the cache keeps.
type sdkOperation func(h *handler, ctx context.Context, call *sdkCall) (body []byte, err *sdkError, forward bool)

// cachedOperations are the reads answered from the cache; every other
// operation is passed to the service.
var cachedOperations = map[string]sdkOperation{
	"secretsmanager.GetSecretValue":      (*handler).sdkGetSecretValue,
	"secretsmanager.BatchGetSecretValue": (*handler).sdkBatchGetSecretValue,
	"AmazonSSM.GetParameter":             (*handler).sdkGetParameter,
	"AmazonSSM.GetParameters":            (*handler).sdkGetParameters,
	"AmazonSSM.GetParametersByPath":      (*handler).sdkGetParametersByPath,
}

// sdk serves POST /.
func (h *handler) sdk(w http.ResponseWriter, r *http.Request) {
	call, err := h.sdkCall(w, r)
	if err != nil {
		h.writeSDKError(w, r, call, err)
		return
	}
	if op, ok := cachedOperations[call.target]; ok {
		body, err, forward := op(h, r.Context(), call)
		switch {
		case err != nil:
			h.writeSDKError(w, r, call, err)
			return
		case !forward:
			writeSDKAnswer(w, http.StatusOK, newRequestID(), body)
			clear(body) // the only copy of the values outside the cache
			return
		}
	}
	h.forward(w, r, call)
}

// sdkCall reads and authenticates r: its service and operation, its body,
// and who sent it.
func (h *handler) sdkCall(w http.ResponseWriter, r *http.Request) (*sdkCall, *sdkError) {
	call := &sdkCall{target: r.Header.Get("X-Amz-Target")}
	prefix, operation, _ := strings.Cut(call.target, ".")
	svc, ok := sdkServices[prefix]
	if !ok || operation == "" {
		return call, &sdkError{http.StatusBadRequest, "UnknownOperationException",
			"X-Amz-Target must name a Secrets Manager (secretsmanager.<Operation>) or Parameter Store (AmazonSSM.<Operation>) operation"}
	}
	call.service, call.operation = svc.service, operation
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/x-amz-json-1.") {
		return call, &sdkError{http.StatusBadRequest, "SerializationException", "Content-Type must be application/x-amz-json-1.1"}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxSDKBody))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return call, &sdkError{http.StatusRequestEntityTooLarge, "RequestEntityTooLargeException", "the request body is larger than 1 MiB"}
		}
		return call, &sdkError{http.StatusBadRequest, "SerializationException", "the request body could not be read"}
	}
	call.body = body
	return call, h.authenticate(r, call, svc.signingName)
}

// authenticate decides who sent call: a SigV4 signature by the
// extension's own credentials, or the token header, which allows the
// cached reads only.
func (h *handler) authenticate(r *http.Request, call *sdkCall, signingName string) *sdkError {
	authz := r.Header.Get("Authorization")
	if authz == "" {
		if token := r.Header.Get(access.TokenHeader); token != "" && h.token.Matches(token) {
			return nil
		}
		return &sdkError{http.StatusForbidden, "MissingAuthenticationTokenException",
			"sign the request with AWS Signature Version 4 using the function's credentials, or send the " + access.TokenHeader + " header"}
	}
	if h.aws == nil {
		return &sdkError{http.StatusForbidden, "UnrecognizedClientException", "the extension holds no AWS credentials in local file mode; send the " + access.TokenHeader + " header instead"}
	}
	sig, err := sigv4.Parse(authz)
	if err != nil {
		return asSDKError(err)
	}
	region, err := h.verify(r, call, sig, signingName)
	if err != nil {
		return asSDKError(err)
	}
	call.signed = true
	if region != h.aws.HomeRegion(call.service) {
		call.region = region
	}
	return nil
}

// verify checks sig against the extension's credentials. A caller that
// signed with keys the extension does not hold yet may have fetched
// rotated container credentials first: the extension renews its own once
// and checks again.
func (h *handler) verify(r *http.Request, call *sdkCall, sig sigv4.Signature, signingName string) (string, error) {
	for renewed := false; ; renewed = true {
		creds, err := h.aws.Credentials(r.Context())
		if err != nil {
			return "", &sigv4.Error{Code: "UnrecognizedClientException", Message: "the extension could not load its own AWS credentials to check the signature"}
		}
		key := sigv4.Key{AccessKeyID: creds.AccessKeyID, SecretAccessKey: creds.SecretAccessKey, SessionToken: creds.SessionToken}
		region, err := sig.Verify(r, call.body, key, signingName, h.now())
		if err == sigv4.ErrUnknownKey && !renewed && h.aws.RenewCredentials() {
			continue
		}
		return region, err
	}
}

func asSDKError(err error) *sdkError {
	var serr *sigv4.Error
	if errors.As(err, &serr) {
		return &sdkError{http.StatusForbidden, serr.Code, serr.Message}
	}
	return &sdkError{http.StatusForbidden, "InvalidSignatureException", "the signature could not be checked"}
}

// forward passes call to its service and answers with what it answered;
// a write that succeeded drops the cached values it made stale.
func (h *handler) forward(w http.ResponseWriter, r *http.Request, call *sdkCall) {
	if !call.signed {
		h.writeSDKError(w, r, call, &sdkError{http.StatusForbidden, "AccessDeniedException", call.operation +
			" is passed to the service, which the extension does only for a request signed with AWS Signature Version 4 by the function's credentials; the token header allows the cached reads alone"})
		return
	}
	if !h.access.MayForward(readsValues(call.target)) {
		h.writeSDKError(w, r, call, &sdkError{http.StatusBadRequest, "AccessDeniedException", h.allowList +
			" limits this function to some slices of the Starfleet secret, and this request, which the extension would pass to the service, could read it whole; name what to read in the operation's own members (SecretIdList, Names, Path)"})
		return
	}
	region := call.region
	if region == "" {
		region = h.aws.HomeRegion(call.service)
	}
	ctx, cancel := context.WithTimeout(r.Context(), h.forwardTimeout)
	defer cancel()
	answer, err := h.aws.Forward(ctx, upstream.Call{Service: call.service, Region: region, Target: call.target,
		ContentType: r.Header.Get("Content-Type"), Body: call.body})
	if err != nil {
		if r.Context().Err() == nil {
			h.log.Warn("forwarding failed", "event", "request_error", "operation", call.operation, "error", err.Error())
		}
		// Logged above with the cause; the answer alone here.
		writeSDKErrorBody(w, &sdkError{http.StatusBadGateway, "InternalFailure", "the extension could not reach " + call.service + ": " + err.Error()})
		return
	}
	if answer.Status/100 == 2 {
		if stale := staleAfter(call.target, call.body); stale != nil {
			h.store.Invalidate(stale)
		}
	}
	h.log.Debug("forwarded", "event", "forward", "operation", call.operation, "status", answer.Status)
	for name, values := range answer.Header {
		w.Header()[name] = values
	}
	w.WriteHeader(answer.Status)
	w.Write(answer.Body)
}

// readsValues reports whether an operation passed to the service could
// answer values, the Starfleet secret's among them: the reads the cache
// answers are passed on only when they ask for more than it keeps (a
// search by filters, a member it does not know).
func readsValues(target string) bool {
	_, ok := cachedOperations[target]
	return ok
}

// writeSDKAnswer writes a successful answer of the SDK's protocol.
func writeSDKAnswer(w http.ResponseWriter, status int, id string, body []byte) {
	h := w.Header()
	h["Content-Type"] = headerAmzJSON
	h.Set("X-Amzn-Requestid", id)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body)
}

var headerAmzJSON = []string{"application/x-amz-json-1.1"}

// writeSDKError answers err in the services' error shape, which every SDK
// turns into its exception of that name, and logs it.
func (h *handler) writeSDKError(w http.ResponseWriter, r *http.Request, call *sdkCall, err *sdkError) {
	if r.Context().Err() != nil {
		return
	}
	h.log.Info("request failed", "event", "request_error", "status", err.status, "error_code", err.code, "path", r.URL.Path, "operation", call.operation)
	writeSDKErrorBody(w, err)
}

// writeSDKErrorBody writes err in the services' error shape.
func writeSDKErrorBody(w http.ResponseWriter, err *sdkError) {
	body, _ := json.Marshal(struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
	}{err.code, err.message})
	w.Header().Set("X-Amzn-Errortype", err.code)
	writeSDKAnswer(w, err.status, newRequestID(), body)
}

// fromUpstream is a failed read in the services' error shape: AWS's own
// code, message and status when AWS answered, else the extension's.
func fromUpstream(err error) *sdkError {
	var uerr *item.Error
	if !errors.As(err, &uerr) {
		return &sdkError{http.StatusServiceUnavailable, "ServiceUnavailable", "the read did not finish: " + err.Error()}
	}
	status := uerr.Status
	if status == 0 {
		status = uerr.GatewayStatus()
	}
	return &sdkError{status, uerr.Code, uerr.Err.Error()}
}

// requestID is a fresh id for x-amzn-RequestId, in AWS's UUID form.
func newRequestID() string {
	var b [16]byte
	rand.Read(b[:])
	s := hex.EncodeToString(b[:])
	return s[:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:]
}

// decodeInput reads an operation's JSON input into in. An input with
// members in doesn't know is not an error: forward reports it, and the
// operation is passed to the service, which knows them.
func decodeInput(body []byte, in any) (forward bool, err *sdkError) {
	if len(bytes.TrimSpace(body)) == 0 {
		body = []byte("{}")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if e := dec.Decode(in); e != nil {
		if strings.HasPrefix(e.Error(), "json: unknown field") {
			return true, nil
		}
		return false, &sdkError{http.StatusBadRequest, "SerializationException", "the request body is not this operation's JSON input"}
	}
	if dec.More() {
		return false, &sdkError{http.StatusBadRequest, "SerializationException", "the request body holds more than one JSON value"}
	}
	return false, nil
}

// read reads key from the cache for call.
func (h *handler) read(ctx context.Context, call *sdkCall, key item.Key) (cache.Result, *sdkError) {
	res, err := h.store.Get(ctx, item.InRegion(key, call.region), false)
	if err != nil {
		return res, fromUpstream(err)
	}
	return res, nil
}
