package cache_test

// FuzzParseDocument checks the Starfleet secret parser against a reference
// built from encoding/json alone. Run it with
//
//	go test -run '^$' -fuzz '^FuzzParseDocument$' -fuzztime 30s ./cache
//
// Seeds live in testdata/fuzz/FuzzParseDocument/ beside the f.Add calls.

import (
	"bytes"
	"encoding/json"
	"io"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/starfleet/starfleet-secrets/cache"
)

// parseErrorShape is every error ParseDocument may return. The only parts
// that vary are byte offsets and quoted key names (Q): never a value.
var parseErrorShape = func() *regexp.Regexp {
	q := `"(?:[^"\\]|\\.)*"`
	inner := `(?:invalid JSON at byte \d+|JSON ends early|invalid JSON|` +
		`top level is (?:an array|a delimiter|a string|a number|a boolean|null|not an object), want an object|` +
		`duplicate key ` + q + `|data after the top-level object|nested deeper than 10000 levels)`
	return regexp.MustCompile(`^(?:secret has no SecretString \(binary secrets cannot hold slices\)|secret is not valid UTF-8|` +
		`(?:secret is not a JSON object of slices|slice ` + q + `): ` + inner + `)$`)
}()

var quoted = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)

// reference walks raw with encoding/json's tokenizer and reports whether it
// starts as one JSON object with no duplicate key at the two levels the
// extension addresses (slices, and keys of object slices), and every key
// met at those levels before any syntax error. Validity as a whole is left
// to json.Valid and utf8.Valid.
func reference(raw []byte) (ok bool, keys map[string]bool) {
	type level struct {
		object, wantKey bool
		keys            map[string]bool
	}
	keys = map[string]bool{}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var stack []*level
	valueDone := func() {
		if n := len(stack); n > 0 && stack[n-1].object {
			stack[n-1].wantKey = true
		}
	}
	dup, first := false, true
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return false, keys
		}
		if first {
			if d, isDelim := tok.(json.Delim); !isDelim || d != '{' {
				return false, keys
			}
			first = false
		}
		if n := len(stack); n > 0 && stack[n-1].object && stack[n-1].wantKey {
			if d, isDelim := tok.(json.Delim); isDelim && d == '}' {
				stack = stack[:n-1]
				valueDone()
				continue
			}
			k := tok.(string)
			if n <= 2 {
				keys[k] = true
				dup = dup || stack[n-1].keys[k]
				stack[n-1].keys[k] = true
			}
			stack[n-1].wantKey = false
			continue
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			d := tok.(json.Delim)
			stack = append(stack, &level{object: d == '{', wantKey: d == '{', keys: map[string]bool{}})
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
			valueDone()
		default:
			valueDone()
		}
	}
	return !first && !dup, keys
}

func FuzzParseDocument(f *testing.F) {
	for _, s := range []string{
		`{}`, `{"STARFLEET":{"SlackToken":"xoxb-1"},"Plain":"v"}`, `{"a":1,"a":2}`, `{"a":{"k":1,"k":2}}`, `{"a":{"b":{"c":1,"c":2}}}`,
		`[1,2]`, `"just a string"`, `42`, `null`, ``, `   `, `{"a":1} trailing`, `{"a":1}{"b":2}`, "{\"a\":\"\xff\"}",
		`{"a":"\ud800"}`, `{"\u0061":1,"a":2}`, `{"a":[{"k":1,"k":2}]}`, `{"a":1,}`, `{"a"}`, `{"a":tru}`, `{"a":1e999}`,
		`{"a":"` + strings.Repeat("s", 1000) + `"}`, `{"deep":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`,
		"\xef\xbb\xbf{}", `{"<k>":"&v"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		if raw == nil {
			raw = []byte{}
		}
		doc, err := cache.ParseDocument(raw)
		okRef, keys := reference(raw)
		okRef = okRef && utf8.Valid(raw) && json.Valid(raw)
		if (err == nil) != okRef {
			t.Fatalf("ParseDocument(%q): err=%v, reference accepts=%v", raw, err, okRef)
		}
		if err != nil {
			msg := err.Error()
			if !parseErrorShape.MatchString(msg) {
				t.Fatalf("ParseDocument(%q): unexpected error text %q", raw, msg)
			}
			for _, q := range quoted.FindAllString(msg, -1) {
				k, uerr := strconv.Unquote(q)
				if uerr != nil || !keys[k] {
					t.Fatalf("ParseDocument(%q): error %q quotes %s, which is not a key of the document", raw, msg, q)
				}
			}
			return
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatalf("accepted %q, which encoding/json cannot unmarshal: %v", raw, err)
		}
		if doc.Len() != len(m) {
			t.Fatalf("%q: %d slices, encoding/json finds %d", raw, doc.Len(), len(m))
		}
		for name, want := range m {
			sl, ok := doc.Slice(name)
			if !ok || !bytes.Equal(sl.Raw, want) || !json.Valid(sl.Raw) {
				t.Fatalf("%q: slice %q = %q, want %q", raw, name, sl.Raw, want)
			}
			var fields map[string]json.RawMessage
			isObject := len(want) > 0 && want[0] == '{'
			if isObject {
				if err := json.Unmarshal(want, &fields); err != nil {
					t.Fatal(err)
				}
			}
			for k, v := range fields {
				got, found, obj := sl.Field(k)
				if !found || !obj || !bytes.Equal(got, v) {
					t.Fatalf("%q: slice %q key %q = %q, want %q", raw, name, k, got, v)
				}
			}
			if _, _, obj := sl.Field("\x00no such key"); obj != isObject {
				t.Fatalf("%q: slice %q object=%v, want %v", raw, name, obj, isObject)
			}
		}
	})
}

// TestParseErrorsNameNoValue: the errors for each kind of bad secret have
// the documented shape and quote no value.
func TestParseErrorsNameNoValue(t *testing.T) {
	for _, raw := range []string{
		`["value-in-array-1234"]`, `"value-string-1234"`, `{"k":"value-1234" "x"}`, `{"k":"value-1234"} "value-5678"`,
		"{\"k\":\"value-\xff-1234\"}", `{"k":{"a":"value-1234","a":"value-5678"}}`, `{"k":value-1234}`,
	} {
		_, err := cache.ParseDocument([]byte(raw))
		if err == nil {
			t.Fatalf("%q accepted", raw)
		}
		if !parseErrorShape.MatchString(err.Error()) || strings.Contains(err.Error(), "1234") || strings.Contains(err.Error(), "5678") {
			t.Errorf("%q: error %q", raw, err)
		}
	}
}
