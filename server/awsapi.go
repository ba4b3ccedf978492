package server

// The AWS Parameters and Secrets Lambda Extension's endpoint,
// GET /secretsmanager/get, so that a function written for the AWS layer
// works unchanged: same port, same token header, same query, same answer.

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/starfleet/starfleet-secrets/cache"
)

// Query parameters of /secretsmanager/get. secretId, versionId and
// versionStage are the AWS layer's; refreshNow is the AWS Secrets Manager
// Agent's.
const (
	paramSecretID     = "secretId"
	paramVersionID    = "versionId"
	paramVersionStage = "versionStage"
	paramRefreshNow   = "refreshNow"
)

var getParams = []string{paramSecretID, paramVersionID, paramVersionStage, paramRefreshNow}

// Secrets Manager's own limits on GetSecretValue's parameters, in
// characters.
const (
	maxSecretIDLength     = 2048
	minVersionIDLength    = 32
	maxVersionIDLength    = 64
	maxVersionStageLength = 256
)

// queryError is a request the endpoint refuses before asking the cache.
type queryError struct {
	code    string
	message string
}

func (e *queryError) Error() string { return e.code + ": " + e.message }

func badQuery(code, format string, args ...any) error {
	return &queryError{code: code, message: fmt.Sprintf(format, args...)}
}

// parseGetQuery turns the query of /secretsmanager/get into the key to read
// and whether the caller asked for a fresh read. It is a pure function of
// its input and never panics, so it can be fuzzed. Errors are *queryError.
func parseGetQuery(q url.Values) (cache.Key, bool, error) {
	if err := checkQueryNames(q, getParams); err != nil {
		return cache.Key{}, false, err
	}

	var key cache.Key
	id, ok := single(q, paramSecretID)
	switch {
	case !ok:
		return cache.Key{}, false, badQuery("MissingParameter", "the secretId query parameter is required: the name or ARN of the secret")
	case id == "":
		return cache.Key{}, false, badQuery("MissingParameter", "the secretId query parameter is empty; give the name or ARN of the secret")
	}
	if err := checkText(id, 1, maxSecretIDLength); err != nil {
		return cache.Key{}, false, badQuery("InvalidParameter", "secretId is not a valid secret name or ARN: %v", err)
	}
	key.SecretID = id

	if v, ok := single(q, paramVersionID); ok {
		if err := checkVersionID(v); err != nil {
			return cache.Key{}, false, badQuery("InvalidParameter", "versionId is not a valid version id: %v; omit it to read the version at versionStage (AWSCURRENT by default)", err)
		}
		key.VersionID = v
	}
	if v, ok := single(q, paramVersionStage); ok {
		if err := checkText(v, 1, maxVersionStageLength); err != nil {
			return cache.Key{}, false, badQuery("InvalidParameter", "versionStage is not a valid staging label: %v; omit it to read AWSCURRENT", err)
		}
		key.VersionStage = v
	}

	refresh, err := boolParam(q, paramRefreshNow)
	if err != nil {
		return cache.Key{}, false, err
	}
	return key, refresh, nil
}

// checkQueryNames refuses a query that names a parameter not in allowed,
// or names one more than once.
func checkQueryNames(q url.Values, allowed []string) error {
	// Sorted, so that the answer to a query with several problems does not
	// depend on map order.
	names := make([]string, 0, len(q))
	for name := range q {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if !slices.Contains(allowed, name) {
			if len(allowed) == 0 {
				return badQuery("UnknownParameter", "unknown query parameter %s; this route takes none", quoteInput(name))
			}
			list := strings.Join(allowed, ", ")
			if i := strings.LastIndex(list, ", "); i >= 0 {
				list = list[:i] + " and " + list[i+2:]
			}
			return badQuery("UnknownParameter", "unknown query parameter %s; the parameters are %s (names are case-sensitive)", quoteInput(name), list)
		}
	}
	for _, name := range names {
		if len(q[name]) > 1 {
			return badQuery("RepeatedParameter", "query parameter %s is given %d times; give it once", name, len(q[name]))
		}
	}
	return nil
}

// boolParam reads an optional true/false query parameter.
func boolParam(q url.Values, name string) (bool, error) {
	v, ok := single(q, name)
	if !ok {
		return false, nil
	}
	switch strings.ToLower(v) {
	case "true", "1":
		return true, nil
	case "false", "0":
		return false, nil
	}
	return false, badQuery("InvalidParameter", "%s must be true or false, not %s", name, quoteInput(v))
}

// parseQuery parses the raw query, or writes the 400 itself.
func (h *handler) parseQuery(w http.ResponseWriter, r *http.Request) (url.Values, bool) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		// url's errors quote at most a three-byte escape sequence.
		h.logQueryError(r, "InvalidQuery")
		writeError(w, http.StatusBadRequest, "InvalidQuery", fmt.Sprintf("the query string is malformed: %v; separate parameters with & and percent-encode the values", err))
		return nil, false
	}
	return q, true
}

// writeQueryError answers a query that parse* refused.
func (h *handler) writeQueryError(w http.ResponseWriter, r *http.Request, err error) {
	var qe *queryError
	if !errors.As(err, &qe) {
		qe = &queryError{code: "InvalidQuery", message: err.Error()}
	}
	h.logQueryError(r, qe.code)
	writeError(w, http.StatusBadRequest, qe.code, qe.message)
}

// single returns the only value of name, and whether it was given.
func single(q url.Values, name string) (string, bool) {
	if vs := q[name]; len(vs) > 0 {
		return vs[0], true
	}
	return "", false
}

// checkText accepts min to max characters of UTF-8 without control or
// space characters: no secret name, ARN or staging label contains them.
func checkText(s string, minLen, maxLen int) error {
	switch n := utf8.RuneCountInString(s); {
	case !utf8.ValidString(s):
		return errors.New("not valid UTF-8")
	case n < minLen:
		return fmt.Errorf("shorter than %d characters", minLen)
	case n > maxLen:
		return fmt.Errorf("longer than %d characters", maxLen)
	case strings.ContainsFunc(s, unicode.IsControl):
		return errors.New("contains a control character")
	case strings.ContainsFunc(s, unicode.IsSpace):
		return errors.New("contains a space")
	}
	return nil
}

// checkVersionID accepts what Secrets Manager does: 32 to 64 printable
// ASCII characters (a UUID, or the ClientRequestToken the version was
// created with).
func checkVersionID(s string) error {
	switch {
	case len(s) < minVersionIDLength:
		return fmt.Errorf("shorter than %d characters", minVersionIDLength)
	case len(s) > maxVersionIDLength:
		return fmt.Errorf("longer than %d characters", maxVersionIDLength)
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return errors.New("contains a character other than printable ASCII")
		}
	}
	return nil
}

// quoteInput quotes a caller-supplied string for an error message: escaped
// by %q (and by JSON again in the body), and cut short so that a long
// query is not echoed back whole.
func quoteInput(s string) string {
	const limit = 64
	if len(s) <= limit {
		return fmt.Sprintf("%q", s)
	}
	cut := limit
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%q...", s[:cut])
}

// getSecretValue serves GET /secretsmanager/get?secretId=&versionId=&versionStage=&refreshNow=.
func (h *handler) getSecretValue(w http.ResponseWriter, r *http.Request) {
	q, ok := h.parseQuery(w, r)
	if !ok {
		return
	}
	key, refresh, err := parseGetQuery(q)
	if err != nil {
		h.writeQueryError(w, r, err)
		return
	}
	res, err := h.store.Get(r.Context(), key, refresh || wantsRefresh(r))
	if err != nil {
		h.writeSecretFetchError(w, r, err, key)
		return
	}
	if h.allow != nil && isSecret(h.store.Primary().SecretID, res.Secret) {
		// Otherwise this endpoint would hand the whole Starfleet secret to
		// a function that may read only some of its slices.
		h.logSecretError(r, http.StatusForbidden, "SecretNotAllowed", key)
		writeError(w, http.StatusForbidden, "SecretNotAllowed", "STARFLEET_SECRETS_ALLOW limits this function to some slices of the Starfleet secret; read them with /secret/{slice}")
		return
	}
	body := marshalSecretValue(res.Secret)
	h.writeValue(w, r, body, secretValueETag(body), res)
	clear(body) // the only copy of the value outside the cache
}

// isSecret reports whether sec is the secret that id (a name, a full ARN or
// a partial ARN, as GetSecretValue accepts) names.
func isSecret(id string, sec *cache.Secret) bool {
	if id == sec.Name || id == sec.ARN {
		return true
	}
	// A partial ARN lacks the "-" and six random characters Secrets
	// Manager appends to the name.
	rest, ok := strings.CutPrefix(sec.ARN, id+"-")
	return ok && strings.HasPrefix(id, "arn:") && len(rest) == 6
}

// awsErrorHints replace the generic hints of upstreamHints where they speak
// of the Starfleet secret's configuration: here the caller named the secret.
var awsErrorHints = map[string]string{
	"ResourceNotFoundException": "no secret with this secretId (and versionId or versionStage, if given) exists in the extension's region; check the name or ARN, the version and STARFLEET_SECRET_REGION or AWS_REGION",
}

func (h *handler) writeSecretFetchError(w http.ResponseWriter, r *http.Request, err error, key cache.Key) {
	if r.Context().Err() != nil {
		return // the caller is gone; nobody reads an answer
	}
	// This route's hints speak of the caller's secretId, not the
	// configured Starfleet secret's.
	status, code := writeUpstreamError(w, err, awsErrorHints, upstreamHints)
	h.logSecretError(r, status, code, key)
}

func (h *handler) logQueryError(r *http.Request, code string) {
	// The query is not logged: it is caller input of any length.
	h.log.Info("request failed", "event", "request_error", "status", http.StatusBadRequest, "error_code", code, "path", r.URL.Path)
}

func (h *handler) logSecretError(r *http.Request, status int, code string, key cache.Key) {
	h.log.Info("request failed", "event", "request_error", "status", status, "error_code", code, "path", r.URL.Path,
		"secret_id", key.SecretID, "version_id", key.VersionID, "version_stage", key.VersionStage)
}

// secretValueETagKey keys the HMAC that derives ETags of /secretsmanager/get
// answers, so that an ETag reveals nothing about a low-entropy value.
var secretValueETagKey = []byte(rand.Text())

// secretValueETag changes whenever the answer does: it is a keyed MAC of the
// whole body (value, version, stages and dates).
func secretValueETag(body []byte) string {
	mac := hmac.New(sha256.New, secretValueETagKey)
	mac.Write(body)
	return `"` + base64.RawURLEncoding.EncodeToString(mac.Sum(nil)[:15]) + `"`
}

// marshalSecretValue renders sec the way the AWS Parameters and Secrets
// Lambda Extension does: the JSON that Go's encoding/json makes of the AWS
// SDK for Go v2's GetSecretValueOutput. Its members in that struct's order
// (ARN, CreatedDate, Name, SecretBinary, SecretString, VersionId,
// VersionStages, ResultMetadata), absent values as null, CreatedDate in
// UTC with three fractional digits, SecretBinary in
// standard base64, strings HTML-escaped, ResultMetadata always {}.
//
// The body is sized exactly before it is built, so that no partial copy of
// the value is left behind in a discarded buffer; the caller clears it once
// written.
func marshalSecretValue(sec *cache.Secret) []byte {
	arn := optionalJSONString(sec.ARN)
	created := awsDate(sec.CreatedDate)
	name := optionalJSONString(sec.Name)
	versionID := optionalJSONString(sec.VersionID)
	stages := []byte("null")
	if sec.VersionStages != nil {
		stages, _ = json.Marshal(sec.VersionStages) // []string cannot fail
	}

	const (
		keyARN      = `{"ARN":`
		keyCreated  = `,"CreatedDate":`
		keyName     = `,"Name":`
		keyBinary   = `,"SecretBinary":`
		keyString   = `,"SecretString":`
		keyVersion  = `,"VersionId":`
		keyStages   = `,"VersionStages":`
		keyMetadata = `,"ResultMetadata":{}}`
	)
	size := len(keyARN) + len(arn) + len(keyCreated) + len(created) + len(keyName) + len(name) +
		len(keyBinary) + len(keyString) + len(keyVersion) + len(versionID) +
		len(keyStages) + len(stages) + len(keyMetadata)
	if sec.Binary != nil {
		size += 2 + base64.StdEncoding.EncodedLen(len(sec.Binary))
	} else {
		size += len("null")
	}
	if sec.String != nil {
		size += jsonStringLen(sec.String)
	} else {
		size += len("null")
	}

	b := make([]byte, 0, size)
	b = append(append(b, keyARN...), arn...)
	b = append(append(b, keyCreated...), created...)
	b = append(append(b, keyName...), name...)
	b = append(b, keyBinary...)
	if sec.Binary != nil {
		b = append(b, '"')
		b = base64.StdEncoding.AppendEncode(b, sec.Binary)
		b = append(b, '"')
	} else {
		b = append(b, "null"...)
	}
	b = append(b, keyString...)
	if sec.String != nil {
		b = appendJSONString(b, sec.String)
	} else {
		b = append(b, "null"...)
	}
	b = append(append(b, keyVersion...), versionID...)
	b = append(append(b, keyStages...), stages...)
	return append(b, keyMetadata...)
}

// awsDate renders a date as the AWS layer does: a JSON string in UTC with
// exactly three fractional digits, or null for the SDK's nil *time.Time.
func awsDate(t time.Time) []byte {
	if t.IsZero() {
		return []byte("null")
	}
	return t.UTC().AppendFormat([]byte{'"'}, `2006-01-02T15:04:05.000Z"`)
}

// optionalJSONString is s as a JSON string, or null when s is empty (the
// SDK's nil *string).
func optionalJSONString(s string) []byte {
	if s == "" {
		return []byte("null")
	}
	b, _ := json.Marshal(s) // a string cannot fail
	return b
}

const hexDigits = "0123456789abcdef"

// jsonEscape says how an ASCII byte is written inside a JSON string, as
// encoding/json writes it with HTML escaping on: 0 for as is, a letter for
// a two-character escape (\n), 'u' for \u00XX.
var jsonEscape = func() (t [utf8.RuneSelf]byte) {
	for c := range t {
		if c < 0x20 {
			t[c] = 'u'
		}
	}
	t['"'], t['\\'] = '"', '\\'
	t['\b'], t['\f'], t['\n'], t['\r'], t['\t'] = 'b', 'f', 'n', 'r', 't'
	t['<'], t['>'], t['&'] = 'u', 'u', 'u'
	return t
}()

// appendJSONString appends src as a JSON string, byte for byte as
// json.Marshal(string(src)) would, without first copying src into a string
// that could not be wiped: invalid UTF-8 becomes \ufffd, <, > and & and
// U+2028 and U+2029 are escaped.
func appendJSONString(dst, src []byte) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(src); {
		c := src[i]
		if c < utf8.RuneSelf {
			esc := jsonEscape[c]
			if esc == 0 {
				i++
				continue
			}
			dst = append(dst, src[start:i]...)
			if esc == 'u' {
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			} else {
				dst = append(dst, '\\', esc)
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRune(src[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, src[start:i]...)
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, src[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	dst = append(dst, src[start:]...)
	return append(dst, '"')
}

// jsonStringLen is len(appendJSONString(nil, src)).
func jsonStringLen(src []byte) int {
	n := 2
	for i := 0; i < len(src); {
		c := src[i]
		if c < utf8.RuneSelf {
			switch jsonEscape[c] {
			case 0:
				n++
			case 'u':
				n += 6
			default:
				n += 2
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(src[i:])
		switch {
		case r == utf8.RuneError && size == 1, r == '\u2028' || r == '\u2029':
			n += 6
		default:
			n += size
		}
		i += size
	}
	return n
}
