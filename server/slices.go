package server

// The /secret routes: the Starfleet secret's slices, one, one key of one,
// or every slice the function may read.

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/starfleet/starfleet-secrets/cache"
	"github.com/starfleet/starfleet-secrets/item"
)

// sliceParams are the query parameters of the /secret routes: refreshNow,
// as on the AWS endpoints, besides Cache-Control: no-cache.
var sliceParams = []string{paramRefreshNow}

// getSlice serves /secret/{slice} and /secret/{slice}/{key}.
func (h *handler) getSlice(w http.ResponseWriter, r *http.Request) {
	refresh, ok := h.routeQuery(w, r, sliceParams)
	if !ok {
		return
	}
	name, ok := h.pathName(w, r, "slice")
	if !ok {
		return
	}
	if !h.access.MayReadSlice(name) {
		h.logRequestError(r, http.StatusForbidden, "SliceNotAllowed", "slice", name)
		writeError(w, http.StatusForbidden, "SliceNotAllowed", fmt.Sprintf("slice %q is not in %s for this function", name, orWords(h.settings.Allow, "the extension's allow-list")))
		return
	}
	var key string
	if chi.URLParam(r, "key") != "" {
		if key, ok = h.pathName(w, r, "key"); !ok {
			return
		}
	}
	doc, res, ok := h.document(w, r, refresh, name)
	if !ok {
		return
	}
	slice, ok := doc.Slice(name)
	if !ok {
		h.refuseMissing(w, r, "SliceNotFound", name, fmt.Sprintf("the secret has no slice %q", name))
		return
	}
	if key == "" {
		h.writeValueHeaders(w, r, slice.Raw, slice.ETagHeader, slice.LengthHeader, res)
	} else {
		v, found, isObject := slice.Field(key)
		switch {
		case !isObject:
			h.refuseMissing(w, r, "KeyNotFound", name, fmt.Sprintf("slice %q is not a JSON object, so it has no key %q", name, key))
			return
		case !found:
			h.refuseMissing(w, r, "KeyNotFound", name, fmt.Sprintf("slice %q has no key %q", name, key))
			return
		}
		h.writeValueHeaders(w, r, v, []string{slice.ETag}, nil, res)
	}
	if h.debug(r) {
		h.logServed(res, "slice", name, "key", key)
	}
}

// getAllSlices serves /secret: every slice this function may read, as one
// JSON object whose members are the slices' stored bytes, in byte order of
// their names. The ETag is derived from the slices' own, so a caller that
// polls with If-None-Match gets a 304 and no copy while nothing changed.
func (h *handler) getAllSlices(w http.ResponseWriter, r *http.Request) {
	refresh, ok := h.routeQuery(w, r, sliceParams)
	if !ok {
		return
	}
	names, readable, res, ok := h.readableSlices(w, r, refresh)
	if !ok {
		return
	}
	etag := combinedETag(readable)
	if etagMatches(r.Header.Get("If-None-Match"), etag) {
		h.writeValue(w, r, nil, etag, res)
		return
	}
	h.writeValue(w, r, joinSlices(names, readable), etag, res)
	if h.debug(r) {
		h.logServed(res, "slices", len(readable))
	}
}

// readableSlices reads every slice this function may read, with the result
// the answer's headers describe (in the split layout, the oldest of the
// slices' secrets, marked stale if any is), answering the error itself.
func (h *handler) readableSlices(w http.ResponseWriter, r *http.Request, refresh bool) ([]string, []*cache.Slice, cache.Result, bool) {
	var names []string
	var readable []*cache.Slice
	if layout := h.store.Layout(); layout.Split() {
		var oldest, stale cache.Result
		for _, name := range layout.Slices {
			if !h.access.MayReadSlice(name) {
				continue
			}
			doc, res, ok := h.document(w, r, refresh, name)
			if !ok {
				return nil, nil, res, false
			}
			sl, _ := doc.Slice(name)
			names, readable = append(names, name), append(readable, sl)
			if oldest.Value == nil || res.FetchedAt.Before(oldest.FetchedAt) {
				oldest = res
			}
			if res.Stale && !stale.Stale {
				stale = res
			}
		}
		if stale.Stale && !oldest.Stale {
			oldest.Stale, oldest.StaleCause = true, stale.StaleCause
		}
		return names, readable, oldest, true
	}
	doc, res, ok := h.document(w, r, refresh, "")
	if !ok {
		return nil, nil, res, false
	}
	for _, name := range doc.Names() {
		if h.access.MayReadSlice(name) {
			sl, _ := doc.Slice(name)
			readable, names = append(readable, sl), append(names, name)
		}
	}
	return names, readable, res, true
}

// joinSlices is one JSON object of the named slices' stored bytes.
func joinSlices(names []string, slices []*cache.Slice) []byte {
	size := 2
	for i, sl := range slices {
		size += len(names[i]) + len(sl.Raw) + 8
	}
	body := make([]byte, 0, size)
	body = append(body, '{')
	for i, sl := range slices {
		if i > 0 {
			body = append(body, ',')
		}
		quoted, _ := json.Marshal(names[i]) // a valid UTF-8 string: cannot fail
		body = append(append(append(body, quoted...), ':'), sl.Raw...)
	}
	return append(body, '}')
}

// document reads the Starfleet secret as a document of slices for a
// request about slice (empty: all of them), answering the error itself. In
// the split layout it reads slice's own secret, a document of that slice.
func (h *handler) document(w http.ResponseWriter, r *http.Request, refresh bool, slice string) (*cache.Document, cache.Result, bool) {
	key := h.store.Primary()
	layout := h.store.Layout()
	if layout.Split() {
		var ok bool
		if key, ok = layout.Key(slice); !ok {
			h.refuseMissing(w, r, "SliceNotFound", slice, fmt.Sprintf("the split layout has no slice %q: %s lists the slices, each the secret %s<slice>",
				slice, orWords(h.settings.Slices, "the extension's slice list"), layout.Prefix))
			return nil, cache.Result{}, false
		}
	}
	res, err := h.store.Get(r.Context(), key, refresh || wantsRefresh(r))
	var doc *cache.Document
	if err == nil {
		doc, err = res.Document()
	}
	var ierr *item.Error
	switch {
	case err == nil:
		return doc, res, true
	case layout.Split() && errors.As(err, &ierr) && ierr.Code == item.CodeNotFound:
		h.refuseMissing(w, r, "SliceNotFound", slice, fmt.Sprintf("slice %q has no secret: %s%s does not exist", slice, layout.Prefix, slice))
	default:
		h.writeFetchError(w, r, err, h.hints.slices, "slice", slice)
	}
	return nil, res, false
}

// refuseMissing answers 404 for a slice or key the secret does not have.
func (h *handler) refuseMissing(w http.ResponseWriter, r *http.Request, code, slice, message string) {
	h.logRequestError(r, http.StatusNotFound, code, "slice", slice)
	writeError(w, http.StatusNotFound, code, message)
}

// debug reports whether served reads are logged. Callers ask before they
// build a log line's attributes, which would cost a warm read allocations.
func (h *handler) debug(r *http.Request) bool { return h.log.Enabled(r.Context(), slog.LevelDebug) }

// logServed logs a served read; attrs name what was read.
func (h *handler) logServed(res cache.Result, attrs ...any) {
	attrs = append(attrs, "event", "read", "stale", res.Stale, "age_s", ageSeconds(res.FetchedAt, h.now()))
	if res.Value != nil { // nil: the split layout's /secret read no slice
		attrs = append(attrs, "version_id", res.Value.VersionID)
	}
	h.log.Debug("served", attrs...)
}

// combinedETag derives one entity tag from the slices' tags, which already
// change with the version and the bytes and reveal nothing of a value.
func combinedETag(slices []*cache.Slice) string {
	sum := sha256.New()
	for _, sl := range slices {
		io.WriteString(sum, sl.ETag)
	}
	return `"` + base64.RawURLEncoding.EncodeToString(sum.Sum(nil)[:15]) + `"`
}
