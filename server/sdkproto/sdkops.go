package sdkproto

// The reads of the SDK's protocol that the cache answers, each decoded,
// checked and answered field for field as the service answers it.

import (
	"cmp"
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/starfleet/starfleet-secrets/cache"
	"github.com/starfleet/starfleet-secrets/item"
	"github.com/starfleet/starfleet-secrets/server/jsonbody"
)

// maxParameterPage is the most parameters GetParametersByPath answers a page.
const maxParameterPage = 10

// checkLength is the service's validation of a required or optional
// string member.
func checkLength(member string, v *string, required bool, most int) *sdkError {
	switch {
	case v == nil && required:
		return validationError("1 validation error detected: Value null at '" + member + "' failed to satisfy constraint: Member must not be null")
	case v != nil && (len(*v) < 1 || len(*v) > most):
		return validationError("1 validation error detected: Value at '" + member + "' failed to satisfy constraint: Member must have length between 1 and " + strconv.Itoa(most))
	}
	return nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func (h *handler) sdkGetSecretValue(ctx context.Context, call *sdkCall) ([]byte, *sdkError, bool) {
	var in struct{ SecretId, VersionId, VersionStage *string }
	if forward, err := decodeInput(call.body, &in); forward || err != nil {
		return nil, err, forward
	}
	if err := firstError(checkLength("secretId", in.SecretId, true, item.MaxSecretIDLength),
		checkLength("versionId", in.VersionId, false, item.MaxVersionIDLength), checkLength("versionStage", in.VersionStage, false, item.MaxVersionStageLength)); err != nil {
		return nil, err, false
	}
	if h.access.RefusesRequest(*in.SecretId) {
		return nil, h.wholeSecretRefused(), false
	}
	res, err := h.read(ctx, call, item.SecretKey{ID: *in.SecretId, VersionID: deref(in.VersionId), VersionStage: deref(in.VersionStage)})
	if err != nil {
		return nil, err, false
	}
	if err := h.checkNotStarfleet(res.Value); err != nil {
		return nil, err, false
	}
	return jsonbody.Build(func(o *jsonbody.Builder) { writeSecretValue(o, res.Value) }), nil, false
}

// checkNotStarfleet refuses the whole Starfleet secret to a function
// limited to some of its slices.
func (h *handler) checkNotStarfleet(v *item.Value) *sdkError {
	if !h.access.RefusesWhole(v.Name, v) {
		return nil
	}
	return h.wholeSecretRefused()
}

// wholeSecretRefused is the answer to a read of the whole Starfleet
// secret, or a reference to it, by a function limited to some slices.
func (h *handler) wholeSecretRefused() *sdkError {
	return &sdkError{http.StatusBadRequest, "AccessDeniedException", h.allowList +
		" limits this function to some slices of the Starfleet secret; read them with GET /secret/{slice}"}
}

func (h *handler) sdkBatchGetSecretValue(ctx context.Context, call *sdkCall) ([]byte, *sdkError, bool) {
	var in struct {
		SecretIdList []string
		Filters      any
		MaxResults   *int
		NextToken    *string
	}
	if forward, err := decodeInput(call.body, &in); forward || err != nil {
		return nil, err, forward
	}
	if in.Filters != nil || in.NextToken != nil {
		// A search by filters, and its pages, are the service's to answer.
		return nil, nil, true
	}
	if len(in.SecretIdList) < 1 || len(in.SecretIdList) > item.MaxSecretBatch {
		return nil, validationError("SecretIdList must name 1 to 20 secrets, or give Filters instead"), false
	}
	results := make([]cache.Result, len(in.SecretIdList))
	errs := make([]*sdkError, len(in.SecretIdList))
	for _, id := range in.SecretIdList {
		if err := checkLength("secretIdList.member", &id, true, item.MaxSecretIDLength); err != nil {
			return nil, err, false
		}
	}
	var wg sync.WaitGroup
	for i, id := range in.SecretIdList {
		if h.access.RefusesRequest(id) {
			errs[i] = h.wholeSecretRefused()
			continue
		}
		wg.Go(func() {
			results[i], errs[i] = h.read(ctx, call, item.SecretKey{ID: id})
			if errs[i] == nil {
				errs[i] = h.checkNotStarfleet(results[i].Value)
			}
		})
	}
	wg.Wait()
	return jsonbody.Build(func(o *jsonbody.Builder) {
		o.Raw(`{"SecretValues":[`)
		o.List(len(results), func(i int) bool { return errs[i] == nil }, func(i int) { writeSecretValue(o, results[i].Value) })
		o.Raw(`],"Errors":[`)
		o.List(len(errs), func(i int) bool { return errs[i] != nil }, func(i int) {
			o.Raw(`{"SecretId":`)
			o.Str(in.SecretIdList[i])
			o.Raw(`,"ErrorCode":`)
			o.Str(errs[i].code)
			o.Raw(`,"Message":`)
			o.Str(errs[i].message)
			o.Raw(`}`)
		})
		o.Raw(`]}`)
	}), nil, false
}

func (h *handler) sdkGetParameter(ctx context.Context, call *sdkCall) ([]byte, *sdkError, bool) {
	var in struct {
		Name           *string
		WithDecryption bool
	}
	if forward, err := decodeInput(call.body, &in); forward || err != nil {
		return nil, err, forward
	}
	if err := checkLength("name", in.Name, true, item.MaxParameterNameLength); err != nil {
		return nil, err, false
	}
	res, err := h.read(ctx, call, item.ParameterKey{Name: *in.Name, WithDecryption: in.WithDecryption})
	if err != nil {
		return nil, err, false
	}
	if h.access.RefusesWhole(*in.Name, res.Value) {
		return nil, h.wholeSecretRefused(), false
	}
	return jsonbody.Build(func(o *jsonbody.Builder) {
		o.Raw(`{"Parameter":`)
		writeParameter(o, res.Value)
		o.Raw(`}`)
	}), nil, false
}

func (h *handler) sdkGetParameters(ctx context.Context, call *sdkCall) ([]byte, *sdkError, bool) {
	var in struct {
		Names          []string
		WithDecryption bool
	}
	if forward, err := decodeInput(call.body, &in); forward || err != nil {
		return nil, err, forward
	}
	if len(in.Names) < 1 || len(in.Names) > item.MaxBatch {
		return nil, validationError("1 validation error detected: Value at 'names' failed to satisfy constraint: Member must have length between 1 and 10"), false
	}
	keys := make([]item.ParameterKey, len(in.Names))
	for i, name := range in.Names {
		if err := checkLength("names.member", &name, true, item.MaxParameterNameLength); err != nil {
			return nil, err, false
		}
		if item.IsReference(name) {
			return nil, validationError("GetParameters does not take " + item.ReferencePrefix + " names; read each with GetParameter"), false
		}
		keys[i] = item.ParameterKey{Name: name, WithDecryption: in.WithDecryption, Scope: item.Scope{Region: call.region}}
	}
	results, errs := h.store.GetParameters(ctx, keys)
	for _, err := range errs {
		if err != nil && !missingParameter(err) {
			return nil, fromUpstream(err), false
		}
	}
	return jsonbody.Build(func(o *jsonbody.Builder) {
		o.Raw(`{"Parameters":[`)
		o.List(len(results), func(i int) bool { return errs[i] == nil }, func(i int) { writeParameter(o, results[i].Value) })
		o.Raw(`],"InvalidParameters":[`)
		o.List(len(errs), func(i int) bool { return errs[i] != nil }, func(i int) { o.Str(in.Names[i]) })
		o.Raw(`]}`)
	}), nil, false
}

// missingParameter reports whether err says a parameter, or the version
// or label asked for, does not exist: GetParameters lists those as
// InvalidParameters.
func missingParameter(err error) bool {
	code := fromUpstream(err).code
	return code == "ParameterNotFound" || code == "ParameterVersionNotFound"
}

func (h *handler) sdkGetParametersByPath(ctx context.Context, call *sdkCall) ([]byte, *sdkError, bool) {
	var in struct {
		Path             *string
		Recursive        bool
		WithDecryption   bool
		MaxResults       *int32
		NextToken        *string
		ParameterFilters any
	}
	if forward, err := decodeInput(call.body, &in); forward || err != nil {
		return nil, err, forward
	}
	if in.ParameterFilters != nil {
		return nil, nil, true
	}
	if err := checkLength("path", in.Path, true, item.MaxParameterNameLength); err != nil {
		return nil, err, false
	}
	key := item.PathKey{Path: *in.Path, Recursive: in.Recursive, WithDecryption: in.WithDecryption, PageToken: deref(in.NextToken)}
	if in.MaxResults != nil {
		if *in.MaxResults < 1 || *in.MaxResults > maxParameterPage {
			return nil, validationError("1 validation error detected: Value at 'maxResults' failed to satisfy constraint: Member must have value between 1 and 10"), false
		}
		key.PageSize = *in.MaxResults
	}
	res, err := h.read(ctx, call, key)
	if err != nil {
		return nil, err, false
	}
	return jsonbody.Build(func(o *jsonbody.Builder) {
		o.Raw(`{"Parameters":[`)
		page := res.Value.Parameters
		o.List(len(page), nil, func(i int) { writeParameter(o, page[i]) })
		o.Raw(`]`)
		if res.Value.NextToken != "" {
			o.Raw(`,"NextToken":`)
			o.Str(res.Value.NextToken)
		}
		o.Raw(`}`)
	}), nil, false
}

func firstError(errs ...*sdkError) *sdkError {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// staleAfter says which cached values a successful forwarded operation
// made stale, or nil for a read. A write names its secret (SecretId, or
// Name when it creates one) or its parameters (Name, Names); when it names
// none the extension can read, every value of its service is dropped.
// Values read through a reference to Secrets Manager are dropped with any
// secret write. Cached misses are always dropped by the cache.
func staleAfter(target string, body []byte) func(item.Key, *item.Value) bool {
	prefix, operation, _ := strings.Cut(target, ".")
	for _, read := range []string{"Get", "BatchGet", "Describe", "List", "Validate"} {
		if strings.HasPrefix(operation, read) {
			return nil
		}
	}
	var in struct {
		SecretId, Name string
		Names          []string
	}
	// Members it doesn't know, or a body it can't read, leave in empty:
	// then every value of the service is dropped.
	_ = json.Unmarshal(body, &in)
	if prefix == "secretsmanager" {
		id := cmp.Or(in.SecretId, in.Name)
		return func(k item.Key, v *item.Value) bool {
			switch k := k.(type) {
			case item.SecretKey:
				return id == "" || k.ID == id || item.IsSecret(id, v.Name, v.ARN)
			case item.ParameterKey:
				return item.IsReference(k.Name)
			}
			return false
		}
	}
	names := append(in.Names, in.Name)
	return func(k item.Key, v *item.Value) bool {
		switch k := k.(type) {
		case item.PathKey:
			return true
		case item.ParameterKey:
			if len(in.Names) == 0 && in.Name == "" {
				return true
			}
			for _, n := range names {
				if n != "" && (n == v.Name || n == v.ARN || n == withoutSelector(k.Name)) {
					return true
				}
			}
		}
		return false
	}
}

// withoutSelector is a parameter name without its :version or :label.
func withoutSelector(name string) string {
	if !item.HasSelector(name) {
		return name
	}
	return name[:strings.LastIndexByte(name, ':')]
}

// secretValue writes GetSecretValue's answer for v.
func writeSecretValue(o *jsonbody.Builder, v *item.Value) {
	first := true
	o.Raw("{")
	o.Member("ARN", v.ARN, &first)
	o.Member("Name", v.Name, &first)
	o.Member("VersionId", v.VersionID, &first)
	if v.Text != nil {
		o.Comma(&first)
		o.Raw(`"SecretString":`)
		o.Secret(v.Text)
	}
	if v.Binary != nil {
		o.Comma(&first)
		o.Raw(`"SecretBinary":`)
		o.Base64(v.Binary)
	}
	if len(v.VersionStages) > 0 {
		o.Comma(&first)
		o.Raw(`"VersionStages":[`)
		o.List(len(v.VersionStages), nil, func(i int) { o.Str(v.VersionStages[i]) })
		o.Raw("]")
	}
	if !v.CreatedDate.IsZero() {
		o.EpochSeconds("CreatedDate", v.CreatedDate.UnixMilli(), &first)
	}
	o.Raw("}")
}

// parameter writes one Parameter of GetParameter's answer for p.
func writeParameter(o *jsonbody.Builder, p *item.Value) {
	meta := p.Parameter
	if meta == nil {
		meta = &item.ParameterMeta{}
	}
	first := true
	o.Raw("{")
	o.Member("ARN", p.ARN, &first)
	o.Member("DataType", meta.DataType, &first)
	if !p.CreatedDate.IsZero() {
		o.EpochSeconds("LastModifiedDate", p.CreatedDate.UnixMilli(), &first)
	}
	o.Member("Name", p.Name, &first)
	o.Member("Selector", meta.Selector, &first)
	o.Member("SourceResult", meta.SourceResult, &first)
	o.Member("Type", meta.Type, &first)
	o.Comma(&first)
	o.Raw(`"Value":`)
	o.Secret(p.Text)
	o.Comma(&first)
	o.Raw(`"Version":` + strconv.FormatInt(meta.Version, 10))
	o.Raw("}")
}
