package server

// The AWS Parameters and Secrets Lambda Extension's Parameter Store
// endpoint, GET /systemsmanager/parameters/get, answered as that layer
// answers it, from the same cache and under the same freshness rules as
// secrets.

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/starfleet/starfleet-secrets/item"
)

// Query parameters of /systemsmanager/parameters/get: the AWS layer's, and
// refreshNow as on /secretsmanager/get.
const (
	paramName           = "name"
	paramVersion        = "version"
	paramLabel          = "label"
	paramWithDecryption = "withDecryption"
)

var parameterParams = []string{paramName, paramVersion, paramLabel, paramWithDecryption, paramRefreshNow, paramRoleARN}

// parseParameterQuery turns the query of /systemsmanager/parameters/get into
// the key to read and whether the caller asked for a fresh read. The name
// may carry a :version or :label selector, as GetParameter accepts; version
// and label add one. It is pure and never panics, so it can be fuzzed.
// Errors are *queryError.
func parseParameterQuery(q url.Values) (item.ParameterKey, bool, error) {
	if err := checkQueryNames(q, parameterParams); err != nil {
		return item.ParameterKey{}, false, err
	}
	name, err := required(q, paramName, "the parameter's name or ARN", "parameter name", item.MaxParameterNameLength)
	if err != nil {
		return item.ParameterKey{}, false, err
	}
	version, hasVersion := single(q, paramVersion)
	label, hasLabel := single(q, paramLabel)
	switch {
	case hasVersion && hasLabel:
		return item.ParameterKey{}, false, badQuery("InvalidParameter", "give version or label, not both")
	case (hasVersion || hasLabel) && item.HasSelector(name):
		return item.ParameterKey{}, false, badQuery("InvalidParameter", "the name already carries a :version or :label selector; drop it or the version and label parameters")
	case hasVersion:
		if n, err := strconv.ParseInt(version, 10, 64); err != nil || n < 1 {
			return item.ParameterKey{}, false, badQuery("InvalidParameter", "version must be a whole number from 1, not %s", quoteInput(version))
		}
		name += ":" + version
	case hasLabel:
		if err := checkText(label, 1, item.MaxLabelLength); err != nil || strings.Contains(label, ":") {
			return item.ParameterKey{}, false, badQuery("InvalidParameter", "label is not a valid parameter label: %s", quoteInput(label))
		}
		name += ":" + label
	}
	decrypt, err := boolParam(q, paramWithDecryption)
	if err != nil {
		return item.ParameterKey{}, false, err
	}
	refresh, err := boolParam(q, paramRefreshNow)
	if err != nil {
		return item.ParameterKey{}, false, err
	}
	role, err := roleParam(q)
	if err != nil {
		return item.ParameterKey{}, false, err
	}
	return item.ParameterKey{Name: name, WithDecryption: decrypt, Scope: item.Scope{RoleARN: role}}, refresh, nil
}

// getParameter serves GET /systemsmanager/parameters/get.
func (h *handler) getParameter(w http.ResponseWriter, r *http.Request) {
	key, res, ok := readQueried(h, w, r, parseParameterQuery, h.hints.parameters)
	if !ok {
		return
	}
	if h.access.RefusesWhole(key.Name, res.Value) {
		// Parameter Store's door to Secrets Manager must not hand the
		// whole Starfleet secret to a function limited to some slices.
		h.refuseWholeSecret(w, r, keyAttrs(key)...)
		return
	}
	body := marshalParameter(res.Value)
	h.writeValue(w, r, body, h.bodyETag(body), res)
	clear(body) // the only copy of the value outside the cache
}
