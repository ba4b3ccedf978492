package server

// Fuzz targets for what a caller controls: slice and key names, the path
// they travel in, and the query of /secretsmanager/get. Run one with
//
//	go test -run '^$' -fuzz '^FuzzSlicePath$' -fuzztime 30s ./server
//
// Seeds live in testdata/fuzz/<FuzzName>/ beside the f.Add calls below.

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/starfleet/starfleet-secrets/cache"
	"github.com/starfleet/starfleet-secrets/item"
)

// fuzzDoc has slices whose names need escaping in a path, and two that a
// path decoded twice would confuse ("a%41" and "aA").
const fuzzDoc = `{"Plain":"plain-v4lue","STARFLEET":{"SlackToken":"xoxb-fuzz","a/b":1,"100%":2},` +
	`"a/b":"slash","100%":"percent","a%41":"literal-percent-41","aA":"aA-value","sp ace":"space","ünï":"unicode",` +
	`"<script>":"html","a+b":"plus","%":"lone-percent"}`

var fuzzSlices = func() map[string]json.RawMessage {
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(fuzzDoc), &m); err != nil {
		panic(err)
	}
	return m
}()

func fuzzHandler(t testing.TB) http.Handler {
	src := sourceFunc(func(context.Context, item.SecretKey) (*item.Value, error) {
		return &item.Value{VersionID: "v1", Text: []byte(fuzzDoc)}, nil
	})
	c := cache.New(cache.Options{Source: src, Secrets: cache.Rules{Policy: cache.Policy{TTL: time.Hour}, FetchTimeout: time.Second}, Primary: item.SecretKey{ID: "Starfleet"}})
	t.Cleanup(c.Close)
	return New(Options{Store: c, Token: testToken})
}

func FuzzValidateName(f *testing.F) {
	for _, s := range []string{"", "STARFLEET", "a/b", "\x00", "\x7f", "\u0085", "ü", "\xff", strings.Repeat("n", 256), strings.Repeat("n", 257), "\u2028"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		err := ValidateName(name)
		want := len(name) >= 1 && len(name) <= MaxNameLength && utf8.ValidString(name) && !strings.ContainsFunc(name, unicode.IsControl)
		if (err == nil) != want {
			t.Fatalf("ValidateName(%q) = %v, want accepted=%v", name, err, want)
		}
		if err != nil && len(name) >= 8 && strings.Contains(err.Error(), name) {
			t.Fatalf("error quotes the name: %v", err)
		}
	})
}

// FuzzSlicePath sends GET /secret/<suffix> through the real router, as the
// server would parse it off the wire. Whatever the suffix, the answer is
// JSON with an expected status, and a 200 carries exactly the value the
// path names, decoded once.
func FuzzSlicePath(f *testing.F) {
	for name := range fuzzSlices {
		f.Add(url.PathEscape(name))
	}
	for _, s := range []string{"", "Plain/", "STARFLEET/SlackToken", "STARFLEET/a%2Fb", "STARFLEET/100%25", "a%2541", "%25",
		"..%2F..%2Fetc", "Plain%00", "%ff", "%", "%2", "Plain?x=1", "Plain#frag", "STARFLEET//SlackToken", "STARFLEET/SlackToken/x",
		"%3Cscript%3E", strings.Repeat("x", 300), "a+b", "%C3%BCn%C3%AF"} {
		f.Add(s)
	}
	h := fuzzHandler(f)
	f.Fuzz(func(t *testing.T, suffix string) {
		raw := "GET /secret/" + suffix + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + TokenHeader + ": " + testToken + "\r\n\r\n"
		req, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw)))
		if err != nil {
			return // net/http answers 400 itself before any handler runs
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		body := w.Body.Bytes()
		if ct := w.Header().Get("Content-Type"); ct != "application/json" {
			t.Fatalf("%q: Content-Type %q", suffix, ct)
		}
		if !json.Valid(body) {
			t.Fatalf("%q: answer is not JSON: %q", suffix, body)
		}
		switch w.Code {
		case 200, 400, 404:
		default:
			t.Fatalf("%q: status %d %s", suffix, w.Code, body)
		}
		if w.Code != 200 {
			if strings.ContainsAny(string(body), "<>") {
				t.Fatalf("%q: error echoes markup unescaped: %s", suffix, body)
			}
			for _, v := range []string{"plain-v4lue", "xoxb-fuzz", "literal-percent-41", "aA-value"} {
				if strings.Contains(string(body), v) {
					t.Fatalf("%q: error carries a secret value: %s", suffix, body)
				}
			}
		}
		// What the path names, decoded exactly once from the wire.
		rest, _ := strings.CutPrefix(req.URL.EscapedPath(), "/secret/")
		segs := strings.Split(rest, "/")
		var names []string
		for _, s := range segs {
			n, err := url.PathUnescape(s)
			if err != nil || ValidateName(n) != nil {
				names = nil
				break
			}
			names = append(names, n)
		}
		var want json.RawMessage
		found := false
		if len(names) >= 1 && len(names) <= 2 {
			want, found = fuzzSlices[names[0]]
			if found && len(names) == 2 {
				var fields map[string]json.RawMessage
				if json.Unmarshal(want, &fields) != nil {
					found = false
				} else {
					want, found = fields[names[1]]
				}
			}
		}
		// A query other than refreshNow is refused before the path is
		// read: a slice that exists answers 400, and nothing answers 200.
		if !refreshOnlyQuery(req.URL.RawQuery) {
			if found && w.Code != 400 || w.Code != 400 && w.Code != 404 {
				t.Fatalf("%q: query %q answered %d, want 400 (404 where no route matches)", suffix, req.URL.RawQuery, w.Code)
			}
			return
		}
		if w.Code == 200 && (!found || string(body) != string(want)) {
			t.Fatalf("%q (names %q): served %s, want %s (found %v)", suffix, names, body, want, found)
		}
		if found && w.Code != 200 {
			t.Fatalf("%q (names %q): %d %s, want 200 %s", suffix, names, w.Code, body, want)
		}
	})
}

// refreshOnlyQuery reports whether a raw query is empty or names only
// refreshNow, once, as true or false: the one query the /secret routes take.
func refreshOnlyQuery(raw string) bool {
	if raw == "" {
		return true
	}
	q, err := url.ParseQuery(raw)
	if err != nil || len(q) != 1 || len(q["refreshNow"]) != 1 {
		return false
	}
	switch strings.ToLower(q["refreshNow"][0]) {
	case "true", "false", "1", "0":
		return true
	}
	return false
}

// FuzzGetSecretValueQuery feeds raw query strings to the parser of
// /secretsmanager/get (stricter properties than FuzzParseGetQuery in
// awsapi_test.go) and to the endpoint through the router.
func FuzzGetSecretValueQuery(f *testing.F) {
	for _, s := range []string{
		"secretId=Starfleet", "secretId=arn:aws:secretsmanager:us-east-1:123456789012:secret:Starfleet-AbCdEf",
		"secretId=a&versionId=01234567-89ab-cdef-0123-456789abcdef", "secretId=a&versionStage=AWSPREVIOUS&refreshNow=true",
		"secretId=a&secretId=b", "secretid=a", "secretId=", "secretId=%ff", "secretId=a%00b", "secretId=a+b", "refreshNow=maybe&secretId=a",
		"secretId=a;b", "%zz", "&&&", "secretId=" + strings.Repeat("s", 2049), "versionId=" + strings.Repeat("v", 65) + "&secretId=a",
	} {
		f.Add(s)
	}
	h := fuzzHandler(f)
	f.Fuzz(func(t *testing.T, rawQuery string) {
		checkGetSecretValueAnswer(t, h, rawQuery)
		q, err := url.ParseQuery(rawQuery)
		if err != nil {
			return // answered 400 InvalidQuery before the parser runs
		}
		key, refresh, err := parseGetQuery(q)
		if err != nil {
			var qe *queryError
			if !errors.As(err, &qe) || qe.code == "" || qe.message == "" {
				t.Fatalf("%q: error %v is not a *queryError", rawQuery, err)
			}
			if !utf8.ValidString(qe.message) || strings.ContainsFunc(qe.message, unicode.IsControl) {
				t.Fatalf("%q: message is not clean text: %q", rawQuery, qe.message)
			}
			if len(qe.message) > 1024 {
				t.Fatalf("%q: message of %d bytes echoes too much input", rawQuery, len(qe.message))
			}
			return
		}
		if checkText(key.ID, 1, item.MaxSecretIDLength) != nil {
			t.Fatalf("%q: accepted secretId %q", rawQuery, key.ID)
		}
		if key.VersionID != "" && checkVersionID(key.VersionID) != nil {
			t.Fatalf("%q: accepted versionId %q", rawQuery, key.VersionID)
		}
		if key.VersionStage != "" && checkText(key.VersionStage, 1, item.MaxVersionStageLength) != nil {
			t.Fatalf("%q: accepted versionStage %q", rawQuery, key.VersionStage)
		}
		if refresh && !strings.Contains(strings.ToLower(rawQuery), "refreshnow") {
			t.Fatalf("%q: refresh without refreshNow", rawQuery)
		}
		// The key is what the query said, parsed the same way again.
		again := url.Values{paramSecretID: {key.ID}}
		if key.VersionID != "" {
			again.Set(paramVersionID, key.VersionID)
		}
		if key.VersionStage != "" {
			again.Set(paramVersionStage, key.VersionStage)
		}
		if k2, _, err := parseGetQuery(again); err != nil || k2 != key {
			t.Fatalf("%q: re-encoded key %+v parses as %+v, %v", rawQuery, key, k2, err)
		}
	})
}

// checkGetSecretValueAnswer sends the query through the router: the answer
// is JSON with an expected status and echoes no markup.
func checkGetSecretValueAnswer(t *testing.T, h http.Handler, rawQuery string) {
	raw := "GET /secretsmanager/get?" + rawQuery + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + TokenHeader + ": " + testToken + "\r\n\r\n"
	req, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw)))
	if err != nil {
		return
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	body := w.Body.Bytes()
	switch w.Code {
	case 200, 400, 403, 404, 502:
	default:
		t.Fatalf("%q: status %d %s", rawQuery, w.Code, body)
	}
	if !json.Valid(body) || w.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("%q: answer is not JSON: %d %q", rawQuery, w.Code, body)
	}
	if w.Code != 200 && strings.ContainsAny(string(body), "<>") {
		t.Fatalf("%q: error echoes markup unescaped: %s", rawQuery, body)
	}
}

// TestSliceNamesWithPercentAreDecodedOnce: a name is taken from the path
// decoded exactly once, whatever characters it holds.
func TestSliceNamesWithPercentAreDecodedOnce(t *testing.T) {
	h := fuzzHandler(t)
	for name, value := range fuzzSlices {
		w := do(h, "GET", "/secret/"+url.PathEscape(name), nil)
		if w.Code != 200 || w.Body.String() != string(value) {
			t.Errorf("slice %q: %d %s, want 200 %s", name, w.Code, w.Body, value)
		}
	}
	for _, tt := range []struct{ path, want string }{
		{"/secret/STARFLEET/100%25", "2"},
		{"/secret/STARFLEET/a%2Fb", "1"},
		{"/secret/a%2541", `"literal-percent-41"`},
		{"/secret/aA", `"aA-value"`},
	} {
		if w := do(h, "GET", tt.path, nil); w.Code != 200 || w.Body.String() != tt.want {
			t.Errorf("%s: %d %s, want 200 %s", tt.path, w.Code, w.Body, tt.want)
		}
	}
}

// FuzzParameterQuery feeds raw query strings to the parser of
// /systemsmanager/parameters/get: it refuses with a *queryError or answers
// a key naming a parameter, never panics, and never echoes a long input.
func FuzzParameterQuery(f *testing.F) {
	for _, s := range []string{
		"name=/app/db", "name=/app/db&withDecryption=true", "name=/app/db:3", "name=/app/db:prod",
		"name=/app/db&version=3", "name=/app/db&label=prod", "name=/app/db&version=1&label=x",
		"name=arn:aws:ssm:us-east-1:123456789012:parameter/app/db:2", "name=%2Faws%2Freference%2Fsecretsmanager%2Fdb",
		"name=&version=0", "name=a&version=-1", "name=a&label=b:c", "withDecryption=maybe&name=a", "name=a&name=b", "%zz",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, rawQuery string) {
		q, err := url.ParseQuery(rawQuery)
		if err != nil {
			return
		}
		key, _, err := parseParameterQuery(q)
		if err != nil {
			var qe *queryError
			if !errors.As(err, &qe) {
				t.Fatalf("%q: error %T %v, want *queryError", rawQuery, err, err)
			}
			if len(qe.message) > 400 {
				t.Fatalf("%q: message of %d bytes echoes the input", rawQuery, len(qe.message))
			}
			return
		}
		if checkText(key.Name, 1, item.MaxParameterNameLength+item.MaxLabelLength+1) != nil {
			t.Fatalf("%q: accepted key %+v", rawQuery, key)
		}
	})
}
