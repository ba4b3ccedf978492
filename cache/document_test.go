package cache

import (
	"time"

	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/starfleet/starfleet-secrets/item"
)

func TestParseDocumentKeepsBytes(t *testing.T) {
	raw := []byte(`{"A": {"k" : 1.50, "n":{"x":[1, 2]}},"B":"s\u00e9","C":[ 1,2 ],"D":null}`)
	doc, err := ParseDocument(raw)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"A": `{"k" : 1.50, "n":{"x":[1, 2]}}`, "B": `"s\u00e9"`, "C": `[ 1,2 ]`, "D": `null`}
	if doc.Len() != len(want) {
		t.Fatalf("Len = %d, want %d", doc.Len(), len(want))
	}
	for name, w := range want {
		sl, ok := doc.Slice(name)
		if !ok || string(sl.Raw) != w {
			t.Errorf("slice %s = %q, want %q", name, sl.Raw, w)
		}
	}
	a, _ := doc.Slice("A")
	if v, found, isObject := a.Field("k"); !found || !isObject || string(v) != "1.50" {
		t.Errorf("Field(k) = %q %v %v", v, found, isObject)
	}
	if v, _, _ := a.Field("n"); string(v) != `{"x":[1, 2]}` {
		t.Errorf("Field(n) = %q", v)
	}
	if _, found, isObject := a.Field("missing"); found || !isObject {
		t.Error("missing key found")
	}
	b, _ := doc.Slice("B")
	if _, _, isObject := b.Field("k"); isObject {
		t.Error("a string slice has no fields")
	}
}

func TestParseDocumentSample(t *testing.T) {
	raw, err := os.ReadFile("../testdata/starfleet-secret.json")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := ParseDocument(raw)
	if err != nil {
		t.Fatal(err)
	}
	var want map[string]json.RawMessage
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	for name, w := range want {
		sl, _ := doc.Slice(name)
		if !bytes.Equal(sl.Raw, w) {
			t.Errorf("slice %s differs from encoding/json's raw bytes", name)
		}
	}
}

func TestParseDocumentRejects(t *testing.T) {
	const secretish = "hunter2-very-secret"
	tests := []struct {
		name, raw, wantMsg string
	}{
		{"array", `["` + secretish + `"]`, "top level is an array"},
		{"string", `"` + secretish + `"`, "top level is a string"},
		{"number", `42`, "top level is a number"},
		{"null", `null`, "top level is null"},
		{"empty", ``, "JSON ends early"},
		{"truncated", `{"A":"` + secretish, "JSON ends early"},
		{"bad syntax", `{"A": ` + secretish + `}`, "invalid JSON at byte"},
		{"trailing data", `{"A":1} {"B":2}`, "data after the top-level object"},
		{"duplicate slice", `{"A":1,"A":2}`, `duplicate key "A"`},
		{"duplicate key in slice", `{"A":{"k":1,"k":"` + secretish + `"}}`, `duplicate key "k"`},
		{"invalid utf-8", "{\"A\":\"\xff" + secretish + "\"}", "not valid UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseDocument([]byte(tt.raw))
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not say %q", err, tt.wantMsg)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error quotes the value: %q", err)
			}
		})
	}
	if _, err := ParseDocument(nil); err == nil || !strings.Contains(err.Error(), "binary") {
		t.Errorf("binary value: %v", err)
	}
}

func TestETagChangesWithVersionAndBytes(t *testing.T) {
	key := []byte("k")
	a := etag(key, "v1", "S", []byte(`"x"`))
	if a != etag(key, "v1", "S", []byte(`"x"`)) {
		t.Error("ETag not deterministic")
	}
	for _, other := range []string{
		etag(key, "v2", "S", []byte(`"x"`)),
		etag(key, "v1", "T", []byte(`"x"`)),
		etag(key, "v1", "S", []byte(`"y"`)),
		etag([]byte("other"), "v1", "S", []byte(`"x"`)),
	} {
		if other == a {
			t.Error("ETag did not change")
		}
	}
	if !strings.HasPrefix(a, `"`) || !strings.HasSuffix(a, `"`) {
		t.Errorf("ETag %s is not a quoted string", a)
	}
}

func TestWipe(t *testing.T) {
	v := &item.Value{VersionID: "v", Text: []byte(`{"A":{"k":"secret"}}`)}
	e := newEntry(v, time.Now(), time.Now())
	doc, err := newDocument(v, []byte("k"))
	if err != nil {
		t.Fatal(err)
	}
	e.doc = doc
	sl, _ := doc.Slice("A")
	field, _, _ := sl.Field("k")
	e.wipe()
	for _, b := range [][]byte{v.Text, sl.Raw, field} {
		if bytes.Contains(b, []byte("secret")) || bytes.ContainsFunc(b, func(r rune) bool { return r != 0 }) {
			t.Errorf("not wiped: %q", b)
		}
	}
}
