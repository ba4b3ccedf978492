package server

// The AWS Parameters and Secrets Lambda Extension's endpoint,
// GET /secretsmanager/get, so that a function written for the AWS layer
// works unchanged: same port, same token header, same query, same answer.

import (
	"net/http"
	"strings"
)

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
	attrs := []any{"secret_id", key.SecretID, "version_id", key.VersionID, "version_stage", key.VersionStage}
	res, err := h.store.Get(r.Context(), key, refresh || wantsRefresh(r))
	if err != nil {
		// This route's hints speak of the caller's secretId, not the
		// configured Starfleet secret's.
		h.writeFetchError(w, r, err, h.hints.secrets, attrs...)
		return
	}
	if h.allow != nil && isSecret(h.store.Primary().SecretID, res.Value.Name, res.Value.ARN) {
		// Otherwise this endpoint would hand the whole Starfleet secret to
		// a function that may read only some of its slices.
		h.refuseWholeSecret(w, r, attrs...)
		return
	}
	body := marshalSecretValue(res.Value)
	h.writeValue(w, r, body, h.bodyETag(body), res)
	clear(body) // the only copy of the value outside the cache
}

// isSecret reports whether the secret of that name and ARN is the one id
// (a name, a full ARN or a partial ARN, as GetSecretValue accepts) names.
func isSecret(id, name, arn string) bool {
	if id == name || id == arn {
		return true
	}
	// A partial ARN lacks the "-" and six random characters Secrets
	// Manager appends to the name.
	rest, ok := strings.CutPrefix(arn, id+"-")
	return ok && strings.HasPrefix(id, "arn:") && len(rest) == 6
}
