package cache

import (
	"github.com/starfleet/starfleet-secrets/item"
	"github.com/starfleet/starfleet-secrets/upstream"

	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/smithy-go"
)

// fakeParameters is a scripted ParameterSource that records its calls.
type fakeParameters struct {
	mu      sync.Mutex
	values  map[string]string // by name with selector
	single  []item.Key
	batches [][]item.ParameterKey
	fail    error
}

func (f *fakeParameters) value(k item.ParameterKey) (*item.Value, bool) {
	v, ok := f.values[k.Name]
	if !ok {
		return nil, false
	}
	return &item.Value{Name: k.Name, VersionID: "1", Text: []byte(v),
		Parameter: &item.ParameterMeta{Type: "String", Version: 1, Decrypted: k.WithDecryption}}, true
}

func (f *fakeParameters) GetParameter(_ context.Context, k item.ParameterKey) (*item.Value, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.single = append(f.single, k)
	if f.fail != nil {
		return nil, f.fail
	}
	if sec, ok := f.value(k); ok {
		return sec, nil
	}
	return nil, &smithy.GenericAPIError{Code: "ParameterNotFound", Message: "Parameter " + k.Name + " not found."}
}

func (f *fakeParameters) GetParameters(_ context.Context, keys []item.ParameterKey) (map[item.ParameterKey]*item.Value, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.batches = append(f.batches, keys)
	if f.fail != nil {
		return nil, f.fail
	}
	found := map[item.ParameterKey]*item.Value{}
	for _, k := range keys {
		if sec, ok := f.value(k); ok {
			found[k] = sec
		}
	}
	return found, nil
}

// GetParametersByPath answers every parameter under the path in one page.
func (f *fakeParameters) GetParametersByPath(_ context.Context, k item.PathKey) (*item.Value, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.single = append(f.single, k)
	if f.fail != nil {
		return nil, f.fail
	}
	page := &item.Value{}
	for name := range f.values {
		if strings.HasPrefix(name, k.Path) {
			v, _ := f.value(item.ParameterKey{Name: name, WithDecryption: k.WithDecryption})
			page.Parameters = append(page.Parameters, v)
		}
	}
	return page, nil
}

func newParameterCache(t *testing.T, params *fakeParameters, secrets, parameters Policy) (*Cache, *fakeSource) {
	t.Helper()
	src := &fakeSource{}
	src.set(1, `{}`, nil)
	c := New(Options{Source: src, Secrets: Rules{Policy: secrets, FetchTimeout: time.Second}, Primary: primary, Size: 100, ParameterSource: params, Parameters: Rules{Policy: parameters, FetchTimeout: time.Second}})
	t.Cleanup(c.Close)
	return c, src
}

func TestParametersHaveTheirOwnPolicy(t *testing.T) {
	params := &fakeParameters{values: map[string]string{"/p": "v"}}
	secretsPolicy, paramsPolicy := testPolicy(), testPolicy()
	paramsPolicy.TTL = 0 // every read goes upstream
	c, src := newParameterCache(t, params, secretsPolicy, paramsPolicy)
	key := item.ParameterKey{Name: "/p"}
	for range 3 {
		if res, err := c.Get(t.Context(), key, false); err != nil || string(res.Value.Text) != "v" {
			t.Fatalf("%+v %v", res, err)
		}
		c.Get(t.Context(), primary, false)
	}
	if len(params.single) != 3 || src.calls.Load() != 1 {
		t.Errorf("%d parameter calls (TTL 0), %d secret calls (TTL 10s); want 3 and 1", len(params.single), src.calls.Load())
	}
	if _, err := c.Get(t.Context(), item.ParameterKey{Name: "/missing"}, false); upstream.Classify("", err).Code != "ParameterNotFound" {
		t.Errorf("missing parameter: %v", err)
	}
}

func TestParameterKeysIncludeDecryption(t *testing.T) {
	params := &fakeParameters{values: map[string]string{"/s": "v"}}
	c, _ := newParameterCache(t, params, testPolicy(), testPolicy())
	plain, _ := c.Get(t.Context(), item.ParameterKey{Name: "/s"}, false)
	decrypted, _ := c.Get(t.Context(), item.ParameterKey{Name: "/s", WithDecryption: true}, false)
	if plain.Value.Parameter.Decrypted || !decrypted.Value.Parameter.Decrypted || len(params.single) != 2 {
		t.Errorf("plain %+v, decrypted %+v, %d calls", plain.Value.Parameter, decrypted.Value.Parameter, len(params.single))
	}
}

func TestNoParameterSource(t *testing.T) {
	c := New(Options{Source: &fakeSource{}, Secrets: Rules{Policy: testPolicy(), FetchTimeout: time.Second}, Primary: primary})
	defer c.Close()
	if _, err := c.Get(t.Context(), item.ParameterKey{Name: "/p"}, false); upstream.Classify("", err).Code != item.CodeNotConfigured {
		t.Errorf("err = %v, want %s", err, item.CodeNotConfigured)
	}
}

// TestPrefetchBatchesParameters: parameters are read ten to a call,
// grouped by decryption; references and secrets one by one.
func TestPrefetchBatchesParameters(t *testing.T) {
	values := map[string]string{item.ReferencePrefix + "db": "ref"}
	var keys []item.Key
	for i := range 23 {
		name := "/app/p" + strings.Repeat("x", i)
		values[name] = "v"
		keys = append(keys, item.ParameterKey{Name: name, WithDecryption: i%5 != 0})
	}
	keys = append(keys, item.ParameterKey{Name: item.ReferencePrefix + "db", WithDecryption: true}, item.SecretKey{ID: "other"}, item.ParameterKey{Name: "/app/missing", WithDecryption: true})
	params := &fakeParameters{values: values}
	c, src := newParameterCache(t, params, testPolicy(), testPolicy())

	err := c.Prefetch(t.Context(), keys)
	if err == nil || !strings.Contains(err.Error(), "/app/missing") {
		t.Errorf("err = %v, want the missing parameter named", err)
	}
	total := 0
	for _, b := range params.batches {
		if len(b) > item.MaxBatch {
			t.Errorf("a batch of %d", len(b))
		}
		for _, k := range b {
			if k.WithDecryption != b[0].WithDecryption || item.IsReference(k.Name) {
				t.Errorf("batch mixes decryption or holds a reference: %+v", b)
			}
		}
		total += len(b)
	}
	// 18 decrypted + 1 missing = 19 in 2 calls; 5 plain in 1.
	if len(params.batches) != 3 || total != 24 {
		t.Errorf("%d GetParameters calls for %d names, want 3 for 24", len(params.batches), total)
	}
	if len(params.single) != 1 || !item.IsReference(params.single[0].(item.ParameterKey).Name) || src.calls.Load() != 1 {
		t.Errorf("single calls %+v, secret calls %d; want the reference and the secret", params.single, src.calls.Load())
	}
	// Everything prefetched is served from memory.
	for _, k := range keys[:23] {
		if _, err := c.Get(t.Context(), k, false); err != nil {
			t.Fatal(err)
		}
	}
	if len(params.single) != 1 {
		t.Errorf("%d GetParameter calls after the prefetch, want none", len(params.single)-1)
	}
}

func TestPrefetchReportsAFailedBatch(t *testing.T) {
	params := &fakeParameters{fail: &smithy.GenericAPIError{Code: "ThrottlingException", Message: "Rate exceeded"}}
	c, _ := newParameterCache(t, params, testPolicy(), testPolicy())
	err := c.Prefetch(t.Context(), []item.Key{item.ParameterKey{Name: "/a"}, item.ParameterKey{Name: "/b"}})
	var uerr *item.Error
	if !errors.As(err, &uerr) || uerr.Code != "ThrottlingException" {
		t.Errorf("err = %v, want ThrottlingException", err)
	}
}
