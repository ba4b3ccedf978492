package server

// The AWS Parameters and Secrets Lambda Extension's Parameter Store
// endpoint, GET /systemsmanager/parameters/get, answered as that layer
// answers it, from the same cache and under the same freshness rules as
// secrets.

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/starfleet/starfleet-secrets/cache"
)

// Query parameters of /systemsmanager/parameters/get: the AWS layer's, and
// refreshNow as on /secretsmanager/get.
const (
	paramName           = "name"
	paramVersion        = "version"
	paramLabel          = "label"
	paramWithDecryption = "withDecryption"
)

var parameterParams = []string{paramName, paramVersion, paramLabel, paramWithDecryption, paramRefreshNow}

// Parameter Store's limits on a name with its selector, and on a label.
const (
	maxParameterNameLength = 2048
	maxLabelLength         = 100
)

// parseParameterQuery turns the query of /systemsmanager/parameters/get into
// the key to read and whether the caller asked for a fresh read. The name
// may carry a :version or :label selector, as GetParameter accepts; version
// and label add one. It is pure and never panics, so it can be fuzzed.
// Errors are *queryError.
func parseParameterQuery(q url.Values) (cache.Key, bool, error) {
	if err := checkQueryNames(q, parameterParams); err != nil {
		return cache.Key{}, false, err
	}
	name, ok := single(q, paramName)
	switch {
	case !ok:
		return cache.Key{}, false, badQuery("MissingParameter", "the name query parameter is required: the parameter's name or ARN")
	case name == "":
		return cache.Key{}, false, badQuery("MissingParameter", "the name query parameter is empty; give the parameter's name or ARN")
	}
	if err := checkText(name, 1, maxParameterNameLength); err != nil {
		return cache.Key{}, false, badQuery("InvalidParameter", "name is not a valid parameter name: %v", err)
	}
	version, hasVersion := single(q, paramVersion)
	label, hasLabel := single(q, paramLabel)
	switch {
	case hasVersion && hasLabel:
		return cache.Key{}, false, badQuery("InvalidParameter", "give version or label, not both")
	case (hasVersion || hasLabel) && hasSelector(name):
		return cache.Key{}, false, badQuery("InvalidParameter", "the name already carries a :version or :label selector; drop it or the version and label parameters")
	case hasVersion:
		if n, err := strconv.ParseInt(version, 10, 64); err != nil || n < 1 {
			return cache.Key{}, false, badQuery("InvalidParameter", "version must be a whole number from 1, not %s", quoteInput(version))
		}
		name += ":" + version
	case hasLabel:
		if err := checkText(label, 1, maxLabelLength); err != nil || strings.Contains(label, ":") {
			return cache.Key{}, false, badQuery("InvalidParameter", "label is not a valid parameter label: %s", quoteInput(label))
		}
		name += ":" + label
	}
	decrypt, err := boolParam(q, paramWithDecryption)
	if err != nil {
		return cache.Key{}, false, err
	}
	refresh, err := boolParam(q, paramRefreshNow)
	if err != nil {
		return cache.Key{}, false, err
	}
	return cache.Key{Parameter: name, WithDecryption: decrypt}, refresh, nil
}

// hasSelector reports whether a parameter name (or ARN) ends in a
// :version or :label selector: a colon after the name's last slash, or,
// for an ARN, after its resource part.
func hasSelector(name string) bool {
	if strings.HasPrefix(name, "arn:") {
		_, resource, ok := strings.Cut(name, ":parameter")
		return ok && strings.Contains(resource, ":")
	}
	return strings.Contains(name[strings.LastIndexByte(name, '/')+1:], ":")
}

// getParameter serves GET /systemsmanager/parameters/get.
func (h *handler) getParameter(w http.ResponseWriter, r *http.Request) {
	q, ok := h.parseQuery(w, r)
	if !ok {
		return
	}
	key, refresh, err := parseParameterQuery(q)
	if err != nil {
		h.writeQueryError(w, r, err)
		return
	}
	res, err := h.store.Get(r.Context(), key, refresh || wantsRefresh(r))
	if err != nil {
		if r.Context().Err() != nil {
			return
		}
		status, code := writeUpstreamError(w, err, parameterHints, upstreamHints)
		h.logParameterError(r, status, code, key)
		return
	}
	if h.allow != nil && cache.IsReference(key.Parameter) && isSecret(h.store.Primary().SecretID, referencedSecret(res.Secret)) {
		// Parameter Store's door to Secrets Manager must not hand the
		// whole Starfleet secret to a function limited to some slices.
		h.logParameterError(r, http.StatusForbidden, "SecretNotAllowed", key)
		writeError(w, http.StatusForbidden, "SecretNotAllowed", "STARFLEET_SECRETS_ALLOW limits this function to some slices of the Starfleet secret; read them with /secret/{slice}")
		return
	}
	body := marshalParameter(res.Secret)
	h.writeValue(w, r, body, secretValueETag(body), res)
	clear(body) // the only copy of the value outside the cache
}

// parameterHints replace the generic hints where they speak of Secrets
// Manager.
var parameterHints = map[string]string{
	"AccessDeniedException": "the function's role needs ssm:GetParameter on this parameter (and kms:Decrypt for a SecureString; secretsmanager:GetSecretValue for a reference)",
	"ThrottlingException":   "Parameter Store is throttling this account (its standard throughput is shared by every Get call); the extension backs off and retries",
}

func (h *handler) logParameterError(r *http.Request, status int, code string, key cache.Key) {
	h.log.Info("request failed", "event", "request_error", "status", status, "error_code", code, "path", r.URL.Path,
		"parameter", key.Parameter, "with_decryption", key.WithDecryption)
}

// referencedSecret is the secret a /aws/reference/secretsmanager/ answer
// came from, as far as isSecret needs it: the name, and the ARN from
// SourceResult (DescribeSecret's answer, as JSON).
func referencedSecret(p *cache.Secret) *cache.Secret {
	sec := &cache.Secret{Name: p.Name}
	if p.Parameter != nil {
		var source struct{ ARN string }
		if json.Unmarshal([]byte(p.Parameter.SourceResult), &source) == nil {
			sec.ARN = source.ARN
		}
	}
	return sec
}

// marshalParameter renders a parameter the way the AWS Parameters and
// Secrets Lambda Extension does: encoding/json's rendering of the SDK's
// GetParameterOutput, members in that struct's order, absent values as
// null, LastModifiedDate in UTC with three fractional digits, and
// ResultMetadata always {}. Like marshalSecretValue it sizes the body
// first, so that no partial copy of the value is left behind.
func marshalParameter(p *cache.Secret) []byte {
	meta := p.Parameter
	if meta == nil {
		meta = &cache.ParameterMeta{}
	}
	fields := [...]struct {
		key   string
		value []byte
	}{
		{`{"Parameter":{"ARN":`, optionalJSONString(p.ARN)},
		{`,"DataType":`, optionalJSONString(meta.DataType)},
		{`,"LastModifiedDate":`, awsDate(p.CreatedDate)},
		{`,"Name":`, optionalJSONString(p.Name)},
		{`,"Selector":`, optionalJSONString(meta.Selector)},
		{`,"SourceResult":`, optionalJSONString(meta.SourceResult)},
		{`,"Type":`, optionalJSONString(meta.Type)},
		{`,"Value":`, nil}, // written from p.String below
		{`,"Version":`, strconv.AppendInt(nil, meta.Version, 10)},
	}
	const end = `},"ResultMetadata":{}}`
	size := len(end)
	for _, f := range fields {
		size += len(f.key) + len(f.value)
	}
	if p.String != nil {
		size += jsonStringLen(p.String)
	} else {
		size += len("null")
	}
	b := make([]byte, 0, size)
	for _, f := range fields {
		b = append(b, f.key...)
		switch {
		case f.value != nil:
			b = append(b, f.value...)
		case p.String != nil:
			b = appendJSONString(b, p.String)
		default:
			b = append(b, "null"...)
		}
	}
	return append(b, end...)
}
