package server

// The AWS Parameters and Secrets Lambda Extension's endpoint,
// GET /secretsmanager/get, so that a function written for the AWS layer
// works unchanged: same port, same token header, same query, same answer.

import (
	"net/http"
	"net/url"

	"github.com/starfleet/starfleet-secrets/cache"
	"github.com/starfleet/starfleet-secrets/item"
)

// getSecretValue serves GET /secretsmanager/get?secretId=&versionId=&versionStage=&refreshNow=.
func (h *handler) getSecretValue(w http.ResponseWriter, r *http.Request) {
	// This route's hints speak of the caller's secretId, not the
	// configured Starfleet secret's.
	key, res, ok := readQueried(h, w, r, parseGetQuery, h.hints.secrets)
	if !ok {
		return
	}
	if h.access.RefusesWhole(key.ID, res.Value) {
		// Otherwise this endpoint would hand the whole Starfleet secret to
		// a function that may read only some of its slices.
		h.refuseWholeSecret(w, r, keyAttrs(key)...)
		return
	}
	body := marshalSecretValue(res.Value)
	h.writeValue(w, r, body, h.bodyETag(body), res)
	clear(body) // the only copy of the value outside the cache
}

// readQueried reads the key that parse makes of the request's query,
// answering a refused query or a failed read itself, with the route's
// hints.
func readQueried[K item.Key](h *handler, w http.ResponseWriter, r *http.Request, parse func(url.Values) (K, bool, error),
	hints map[string]string) (key K, res cache.Result, ok bool) {
	q, ok := h.parseQuery(w, r)
	if !ok {
		return key, res, false
	}
	key, refresh, err := parse(q)
	if err != nil {
		h.writeQueryError(w, r, err)
		return key, res, false
	}
	if role := item.ScopeOf(key).RoleARN; role != "" && !h.access.MayAssume(role) {
		// Refused before any call.
		h.logRequestError(r, http.StatusForbidden, "RoleNotAllowed", keyAttrs(key)...)
		writeError(w, http.StatusForbidden, "RoleNotAllowed", "the role in roleArn is not in "+
			orWords(h.settings.Roles, "the extension's list of roles")+"; add it there to let this function read under it")
		return key, res, false
	}
	if sk, isSecret := any(key).(item.SecretKey); isSecret && h.access.RefusesRequest(sk.ID) {
		// Another slice's secret in the split layout: refused before any call.
		h.refuseWholeSecret(w, r, keyAttrs(key)...)
		return key, res, false
	}
	res, err = h.store.Get(r.Context(), key, refresh || wantsRefresh(r))
	if err != nil {
		h.writeFetchError(w, r, err, hints, keyAttrs(key)...)
		return key, res, false
	}
	return key, res, true
}

// keyAttrs name a key in a request's log line. They are built only for a
// line that is written: a served read logs none, and should not pay for
// them.
func keyAttrs(key item.Key) []any {
	var attrs []any
	switch k := key.(type) {
	case item.SecretKey:
		attrs = []any{"secret_id", k.ID, "version_id", k.VersionID, "version_stage", k.VersionStage}
	default:
		attrs = key.LogAttrs()
	}
	if role := item.ScopeOf(key).RoleARN; role != "" {
		attrs = append(attrs, "role_arn", role)
	}
	return attrs
}
