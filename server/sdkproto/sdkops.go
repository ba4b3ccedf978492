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
	"github.com/starfleet/starfleet-secrets/server/jsonbody"
	"github.com/starfleet/starfleet-secrets/upstream"
)

// The services' limits on what a read may name.
const (
	maxBatchSecretIDs = 20
	maxParameterPage  = 10
)

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
	if err := firstError(checkLength("secretId", in.SecretId, true, upstream.MaxSecretIDLength),
		checkLength("versionId", in.VersionId, false, upstream.MaxVersionIDLength), checkLength("versionStage", in.VersionStage, false, upstream.MaxVersionStageLength)); err != nil {
		return nil, err, false
	}
	res, err := h.read(ctx, call, upstream.Key{SecretID: *in.SecretId, VersionID: deref(in.VersionId), VersionStage: deref(in.VersionStage)})
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
func (h *handler) checkNotStarfleet(v *upstream.Value) *sdkError {
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
	if len(in.SecretIdList) < 1 || len(in.SecretIdList) > maxBatchSecretIDs {
		return nil, validationError("SecretIdList must name 1 to 20 secrets, or give Filters instead"), false
	}
	results := make([]cache.Result, len(in.SecretIdList))
	errs := make([]*sdkError, len(in.SecretIdList))
	for _, id := range in.SecretIdList {
		if err := checkLength("secretIdList.member", &id, true, upstream.MaxSecretIDLength); err != nil {
			return nil, err, false
		}
	}
	var wg sync.WaitGroup
	for i, id := range in.SecretIdList {
		wg.Go(func() {
			results[i], errs[i] = h.read(ctx, call, upstream.Key{SecretID: id})
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
	if err := checkLength("name", in.Name, true, upstream.MaxParameterNameLength); err != nil {
		return nil, err, false
	}
	res, err := h.read(ctx, call, upstream.Key{Parameter: *in.Name, WithDecryption: in.WithDecryption})
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
	if len(in.Names) < 1 || len(in.Names) > upstream.MaxBatch {
		return nil, validationError("1 validation error detected: Value at 'names' failed to satisfy constraint: Member must have length between 1 and 10"), false
	}
	keys := make([]upstream.Key, len(in.Names))
	for i, name := range in.Names {
		if err := checkLength("names.member", &name, true, upstream.MaxParameterNameLength); err != nil {
			return nil, err, false
		}
		if upstream.IsReference(name) {
			return nil, validationError("GetParameters does not take " + upstream.ReferencePrefix + " names; read each with GetParameter"), false
		}
		keys[i] = upstream.Key{Parameter: name, WithDecryption: in.WithDecryption, Region: call.region}
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
	if err := checkLength("path", in.Path, true, upstream.MaxParameterNameLength); err != nil {
		return nil, err, false
	}
	key := upstream.Key{Path: *in.Path, Recursive: in.Recursive, WithDecryption: in.WithDecryption, PageToken: deref(in.NextToken)}
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
func staleAfter(target string, body []byte) func(upstream.Key, *upstream.Value) bool {
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
		return func(k upstream.Key, v *upstream.Value) bool {
			if k.IsParameter() {
				return upstream.IsReference(k.Parameter)
			}
			return id == "" || k.SecretID == id || upstream.IsSecret(id, v.Name, v.ARN)
		}
	}
	names := append(in.Names, in.Name)
	return func(k upstream.Key, v *upstream.Value) bool {
		if !k.IsParameter() {
			return false
		}
		if k.Path != "" || len(in.Names) == 0 && in.Name == "" {
			return true
		}
		for _, n := range names {
			if n != "" && (n == v.Name || n == v.ARN || n == withoutSelector(k.Parameter)) {
				return true
			}
		}
		return false
	}
}

// withoutSelector is a parameter name without its :version or :label.
func withoutSelector(name string) string {
	if !upstream.HasSelector(name) {
		return name
	}
	return name[:strings.LastIndexByte(name, ':')]
}

// secretValue writes GetSecretValue's answer for v.
func writeSecretValue(o *jsonbody.Builder, v *upstream.Value) {
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
func writeParameter(o *jsonbody.Builder, p *upstream.Value) {
	meta := p.Parameter
	if meta == nil {
		meta = &upstream.ParameterMeta{}
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
