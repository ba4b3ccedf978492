package cache

// item.Value content the Secrets Manager emulator cannot deliver (invalid
// UTF-8), the nesting limit, and the wipe at shutdown.

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/starfleet/starfleet-secrets/item"
)

type sourceFunc func(context.Context, item.SecretKey) (*item.Value, error)

func (f sourceFunc) GetSecretValue(ctx context.Context, k item.SecretKey) (*item.Value, error) {
	return f(ctx, k)
}

// TestInvalidUTF8SecretIsRejected: Secrets Manager's JSON API (and moto, and
// the AWS SDK, which decodes invalid bytes to U+FFFD) cannot carry invalid
// UTF-8 in SecretString, so this is tested with a source that can (the
// local file source can, too: see the e2e fault matrix).
func TestInvalidUTF8SecretIsRejected(t *testing.T) {
	raw := []byte("{\"Plain\":\"secret-\xff\xfe-Hq7Wz1\"}")
	src := sourceFunc(func(context.Context, item.SecretKey) (*item.Value, error) {
		return &item.Value{VersionID: "v1", Text: bytes.Clone(raw)}, nil
	})
	c := New(Options{Source: src, Secrets: Rules{Policy: Policy{TTL: time.Hour}, FetchTimeout: time.Second}, Primary: primary})
	defer c.Close()
	res, err := c.Get(t.Context(), primary, false)
	if err != nil {
		t.Fatal(err)
	}
	_, err = res.Document()
	var uerr *item.Error
	if err == nil || !asUpstream(err, &uerr) || uerr.Code != item.CodeNotJSONObject || !strings.Contains(err.Error(), "not valid UTF-8") {
		t.Fatalf("invalid UTF-8: %v, want %s: secret is not valid UTF-8", err, item.CodeNotJSONObject)
	}
	if strings.Contains(err.Error(), "Hq7Wz1") {
		t.Errorf("error quotes the value: %v", err)
	}
}

func asUpstream(err error, dst **item.Error) bool {
	u, ok := err.(*item.Error)
	*dst = u
	return ok
}

// nested is a document with one slice nested depth levels deep.
func nested(depth int) []byte {
	return []byte(`{"Deep":` + strings.Repeat("[", depth) + strings.Repeat("]", depth) + `}`)
}

// TestDeepNesting: encoding/json allows 10,000 levels in all. A slice
// nested 9,999 deep (10,000 with the top-level object) is served; 10,000
// inside a slice is refused as not a JSON object of slices, without a
// crash.
func TestDeepNesting(t *testing.T) {
	doc, err := ParseDocument(nested(9999))
	if err != nil {
		t.Fatalf("9,999 levels in a slice: %v", err)
	}
	if sl, ok := doc.Slice("Deep"); !ok || len(sl.Raw) != 2*9999 {
		t.Fatalf("9,999 levels: slice of %d bytes", len(sl.Raw))
	}
	if _, err := ParseDocument(nested(10000)); err == nil || !strings.Contains(err.Error(), "nested deeper than 10000 levels") {
		t.Errorf("10,000 levels in a slice: %v, want nested too deep", err)
	}
	if _, err := ParseDocument(nested(100000)); err == nil || !strings.Contains(err.Error(), "secret is not a JSON object of slices") {
		t.Errorf("100,000 levels in a slice: %v, want an error", err)
	}
	// An object slice nested deep goes through the second parse too.
	deepObject := []byte(`{"Deep":{"k":` + strings.Repeat("[", 9998) + strings.Repeat("]", 9998) + `}}`)
	if _, err := ParseDocument(deepObject); err != nil {
		t.Errorf("object slice 10,000 levels deep in all: %v", err)
	}
}

// TestCloseWipesEveryCachedByte: after Close, no byte slice the cache held
// (the SecretString, each slice, each key of an object slice, other
// secrets' strings and binaries) still contains secret material.
func TestCloseWipesEveryCachedByte(t *testing.T) {
	const marker = "WIPE-ME-"
	primaryDoc := `{"STARFLEET":{"SlackToken":"` + marker + `slack","Nested":{"k":"` + marker + `nested"}},"Plain":"` + marker + `plain","List":["` + marker + `list"]}`
	src := sourceFunc(func(_ context.Context, k item.SecretKey) (*item.Value, error) {
		switch k.ID {
		case primary.ID:
			return &item.Value{VersionID: "v1", Text: []byte(primaryDoc)}, nil
		case "binary":
			return &item.Value{VersionID: "v1", Binary: []byte(marker + "binary")}, nil
		}
		return &item.Value{VersionID: "v1", Text: []byte(marker + k.ID)}, nil
	})
	c := New(Options{Source: src, Secrets: Rules{Policy: Policy{TTL: time.Hour}, FetchTimeout: time.Second}, Primary: primary, Size: 10})
	var held [][]byte
	for _, k := range []item.Key{primary, item.SecretKey{ID: "other"}, item.SecretKey{ID: "binary"}, item.SecretKey{ID: "third", VersionStage: "AWSPREVIOUS"}} {
		res, err := c.Get(t.Context(), k, false)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, res.Value.Text, res.Value.Binary)
	}
	// Everything reachable from the cache's own entries.
	collect := func(e *entry) {
		held = append(held, e.value.Text, e.value.Binary)
		if e.doc != nil {
			for _, sl := range e.doc.slices {
				held = append(held, sl.Raw)
				for _, v := range sl.fields {
					held = append(held, v)
				}
			}
		}
	}
	collect(c.primary.Load())
	for _, e := range c.others.Values() {
		collect(e)
	}
	total := 0
	for _, b := range held {
		total += len(b)
	}
	if total < len(primaryDoc) {
		t.Fatalf("collected only %d bytes", total)
	}

	c.Close()
	for i, b := range held {
		if bytes.Contains(b, []byte(marker)) || bytes.ContainsFunc(b, func(r rune) bool { return r != 0 }) {
			t.Errorf("byte slice %d not wiped after Close: %q", i, b)
		}
	}
	if c.others.Len() != 0 {
		t.Errorf("%d other secrets still cached", c.others.Len())
	}
}
