package server

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/starfleet/starfleet-secrets/cache"
)

// The answer to a successful read: the value with the contract's data
// headers (ETag, Age, Warning), or 304 when the caller's copy is current.

// Header values every answer may carry. They are shared, never modified:
// net/http only reads a header's values, and setting a key replaces its
// slice whole, so a warm read allocates no header.
var (
	headerNoStore = []string{"no-store"}
	headerNosniff = []string{"nosniff"}
	headerJSON    = []string{"application/json"}
	headerStale   = []string{`110 - "Response is Stale"`}
)

// ageHeader is the Age header's value for seconds.
func (h *handler) ageHeader(seconds int64) []string {
	if seconds < 0 || seconds >= int64(len(h.ages)) {
		return []string{strconv.FormatInt(seconds, 10)}
	}
	if v := h.ages[seconds].Load(); v != nil {
		return *v
	}
	v := []string{strconv.FormatInt(seconds, 10)}
	h.ages[seconds].Store(&v)
	return v
}

// writeValue answers a secret value with the contract's data headers.
func (h *handler) writeValue(w http.ResponseWriter, r *http.Request, value []byte, etag string, res cache.Result) {
	h.writeValueHeaders(w, r, value, []string{etag}, nil, res)
}

// writeValueHeaders is writeValue with the ETag, and Content-Length if
// known, given as header values.
func (h *handler) writeValueHeaders(w http.ResponseWriter, r *http.Request, value []byte, etag, length []string, res cache.Result) {
	hdr := w.Header()
	hdr["Content-Type"] = headerJSON
	hdr["Etag"] = etag
	hdr["Age"] = h.ageHeader(ageSeconds(res.FetchedAt, h.now()))
	if res.Stale {
		hdr["Warning"] = headerStale
	}
	if etagMatches(r.Header.Get("If-None-Match"), etag[0]) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	if length == nil {
		length = []string{strconv.Itoa(len(value))}
	}
	hdr["Content-Length"] = length
	w.WriteHeader(http.StatusOK)
	w.Write(value)
}

// wantsRefresh reports whether the caller asked to bypass the cache.
func wantsRefresh(r *http.Request) bool {
	for _, v := range r.Header.Values("Cache-Control") {
		for _, d := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(d), "no-cache") {
				return true
			}
		}
	}
	return false
}

// etagMatches implements If-None-Match's weak comparison over a list.
func etagMatches(header, etag string) bool {
	if header == "" || etag == "" {
		return false
	}
	for _, candidate := range strings.Split(header, ",") {
		candidate = strings.TrimPrefix(strings.TrimSpace(candidate), "W/")
		if candidate == "*" || candidate == etag {
			return true
		}
	}
	return false
}

// ageSeconds is the Age header's value: whole seconds since fetchedAt, never
// negative even if the wall clock stepped back.
func ageSeconds(fetchedAt, now time.Time) int64 {
	return max(int64(now.Sub(fetchedAt)/time.Second), 0)
}
