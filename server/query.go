package server

// Query strings: which parameters each route takes, and the checks every
// value passes before the cache is asked. The parsers are pure and never
// panic, so they can be fuzzed.

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/starfleet/starfleet-secrets/item"
)

// Query parameters of /secretsmanager/get. secretId, versionId and
// versionStage are the AWS layer's; refreshNow is the AWS Secrets Manager
// Agent's.
const (
	paramSecretID     = "secretId"
	paramVersionID    = "versionId"
	paramVersionStage = "versionStage"
	paramRefreshNow   = "refreshNow"
	paramRoleARN      = "roleArn"
)

var getParams = []string{paramSecretID, paramVersionID, paramVersionStage, paramRefreshNow, paramRoleARN}

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
func parseGetQuery(q url.Values) (item.SecretKey, bool, error) {
	if err := checkQueryNames(q, getParams); err != nil {
		return item.SecretKey{}, false, err
	}

	var key item.SecretKey
	id, err := required(q, paramSecretID, "the name or ARN of the secret", "secret name or ARN", item.MaxSecretIDLength)
	if err != nil {
		return item.SecretKey{}, false, err
	}
	key.ID = id

	if v, ok := single(q, paramVersionID); ok {
		if err := checkVersionID(v); err != nil {
			return item.SecretKey{}, false, badQuery("InvalidParameter", "versionId is not a valid version id: %v; omit it to read the version at versionStage (AWSCURRENT by default)", err)
		}
		key.VersionID = v
	}
	if v, ok := single(q, paramVersionStage); ok {
		if err := checkText(v, 1, item.MaxVersionStageLength); err != nil {
			return item.SecretKey{}, false, badQuery("InvalidParameter", "versionStage is not a valid staging label: %v; omit it to read AWSCURRENT", err)
		}
		key.VersionStage = v
	}

	if key.RoleARN, err = roleParam(q); err != nil {
		return item.SecretKey{}, false, err
	}
	refresh, err := boolParam(q, paramRefreshNow)
	if err != nil {
		return item.SecretKey{}, false, err
	}
	return key, refresh, nil
}

// roleParam reads the optional roleArn parameter.
func roleParam(q url.Values) (string, error) {
	v, ok := single(q, paramRoleARN)
	if !ok {
		return "", nil
	}
	if err := item.CheckRoleARN(v); err != nil {
		return "", badQuery("InvalidParameter", "roleArn is not a valid role ARN: %v", err)
	}
	return v, nil
}

// required reads a query parameter that names something (what, a noun),
// checked as checkText does with at most maxLen characters.
func required(q url.Values, name, what, noun string, maxLen int) (string, error) {
	v, ok := single(q, name)
	switch {
	case !ok:
		return "", badQuery("MissingParameter", "the %s query parameter is required: %s", name, what)
	case v == "":
		return "", badQuery("MissingParameter", "the %s query parameter is empty; give %s", name, what)
	}
	if err := checkText(v, 1, maxLen); err != nil {
		return "", badQuery("InvalidParameter", "%s is not a valid %s: %v", name, noun, err)
	}
	return v, nil
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
	case len(s) < item.MinVersionIDLength:
		return fmt.Errorf("shorter than %d characters", item.MinVersionIDLength)
	case len(s) > item.MaxVersionIDLength:
		return fmt.Errorf("longer than %d characters", item.MaxVersionIDLength)
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

func (h *handler) logQueryError(r *http.Request, code string) {
	// The query is not logged: it is caller input of any length.
	h.log.Info("request failed", "event", "request_error", "status", http.StatusBadRequest, "error_code", code, "path", r.URL.Path)
}

// routeQuery checks a query against allowed (nil: none) and reads
// refreshNow, writing the 400 itself when the query is refused: a
// parameter this route does not know would otherwise do nothing silently.
func (h *handler) routeQuery(w http.ResponseWriter, r *http.Request, allowed []string) (refresh, ok bool) {
	if r.URL.RawQuery == "" {
		return false, true
	}
	q, ok := h.parseQuery(w, r)
	if !ok {
		return false, false
	}
	err := checkQueryNames(q, allowed)
	if err == nil {
		refresh, err = boolParam(q, paramRefreshNow)
	}
	if err != nil {
		h.writeQueryError(w, r, err)
		return false, false
	}
	return refresh, true
}
