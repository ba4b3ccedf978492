package server

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/starfleet/starfleet-secrets/cache"
	"github.com/starfleet/starfleet-secrets/item"
)

func TestParseGetQuery(t *testing.T) {
	versionID := "EXAMPLE1-90ab-cdef-fedc-ba987EXAMPLE"
	tests := []struct {
		query   string
		key     item.Key
		refresh bool
		code    string // "" when accepted
	}{
		{"secretId=db", item.SecretKey{ID: "db"}, false, ""},
		{"secretId=arn%3Aaws%3Asecretsmanager%3Aus-east-1%3A123456789012%3Asecret%3Adb-AbCdEf",
			item.SecretKey{ID: "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf"}, false, ""},
		{"secretId=rds%21db-1%2Fprod&versionStage=AWSPREVIOUS", item.SecretKey{ID: "rds!db-1/prod", VersionStage: "AWSPREVIOUS"}, false, ""},
		{"secretId=db&versionId=" + versionID, item.SecretKey{ID: "db", VersionID: versionID}, false, ""},
		{"secretId=db&versionId=" + versionID + "&versionStage=AWSCURRENT", item.SecretKey{ID: "db", VersionID: versionID, VersionStage: "AWSCURRENT"}, false, ""},
		{"secretId=db&refreshNow=true", item.SecretKey{ID: "db"}, true, ""},
		{"secretId=db&refreshNow=True", item.SecretKey{ID: "db"}, true, ""}, // Python's str(True)
		{"secretId=db&refreshNow=1", item.SecretKey{ID: "db"}, true, ""},
		{"secretId=db&refreshNow=false", item.SecretKey{ID: "db"}, false, ""},
		{"secretId=db&refreshNow=0", item.SecretKey{ID: "db"}, false, ""},
		{"secretId=" + strings.Repeat("a", 2048), item.SecretKey{ID: strings.Repeat("a", 2048)}, false, ""},
		{"secretId=db&versionStage=" + strings.Repeat("s", 256), item.SecretKey{ID: "db", VersionStage: strings.Repeat("s", 256)}, false, ""},
		{"secretId=db&versionId=" + strings.Repeat("v", 32), item.SecretKey{ID: "db", VersionID: strings.Repeat("v", 32)}, false, ""},
		{"secretId=db&versionId=" + strings.Repeat("v", 64), item.SecretKey{ID: "db", VersionID: strings.Repeat("v", 64)}, false, ""},

		{"", item.SecretKey{}, false, "MissingParameter"},
		{"secretId=", item.SecretKey{}, false, "MissingParameter"},
		{"secretId", item.SecretKey{}, false, "MissingParameter"},
		{"versionStage=AWSCURRENT", item.SecretKey{}, false, "MissingParameter"},
		{"secretId=db&secretID=x", item.SecretKey{}, false, "UnknownParameter"},
		{"secretId=db&withDecryption=true", item.SecretKey{}, false, "UnknownParameter"},
		{"secretId=db&secretId=other", item.SecretKey{}, false, "RepeatedParameter"},
		{"secretId=db&versionStage=AWSCURRENT&versionStage=AWSCURRENT", item.SecretKey{}, false, "RepeatedParameter"},
		{"secretId=" + strings.Repeat("a", 2049), item.SecretKey{}, false, "InvalidParameter"},
		{"secretId=a%00b", item.SecretKey{}, false, "InvalidParameter"},
		{"secretId=a%0Ab", item.SecretKey{}, false, "InvalidParameter"},
		{"secretId=a+b", item.SecretKey{}, false, "InvalidParameter"}, // + is a space in a query
		{"secretId=%FF", item.SecretKey{}, false, "InvalidParameter"},
		{"secretId=db&versionStage=", item.SecretKey{}, false, "InvalidParameter"},
		{"secretId=db&versionStage=" + strings.Repeat("s", 257), item.SecretKey{}, false, "InvalidParameter"},
		{"secretId=db&versionStage=AWS%09CURRENT", item.SecretKey{}, false, "InvalidParameter"},
		{"secretId=db&versionId=", item.SecretKey{}, false, "InvalidParameter"},
		{"secretId=db&versionId=" + strings.Repeat("v", 31), item.SecretKey{}, false, "InvalidParameter"},
		{"secretId=db&versionId=" + strings.Repeat("v", 65), item.SecretKey{}, false, "InvalidParameter"},
		{"secretId=db&versionId=" + strings.Repeat("é", 16), item.SecretKey{}, false, "InvalidParameter"},
		{"secretId=db&versionId=" + strings.Repeat("v", 31) + "%20", item.SecretKey{}, false, "InvalidParameter"},
		{"secretId=db&refreshNow=yes", item.SecretKey{}, false, "InvalidParameter"},
		{"secretId=db&refreshNow=", item.SecretKey{}, false, "InvalidParameter"},
	}
	for _, tt := range tests {
		q, err := url.ParseQuery(tt.query)
		if err != nil {
			t.Fatalf("%q: %v", tt.query, err)
		}
		key, refresh, err := parseGetQuery(q)
		if tt.code == "" {
			if err != nil || key != tt.key || refresh != tt.refresh {
				t.Errorf("parseGetQuery(%q) = %+v, %v, %v; want %+v, %v", tt.query, key, refresh, err, tt.key, tt.refresh)
			}
			continue
		}
		var qe *queryError
		if !errors.As(err, &qe) || qe.code != tt.code || qe.message == "" {
			t.Errorf("parseGetQuery(%q) = %+v, %v; want %s", tt.query, key, err, tt.code)
		}
	}
}

func TestParseGetQueryNamesTheProblem(t *testing.T) {
	for query, want := range map[string]string{
		"secretId=db&Secretid=x":                                                `"Secretid"`,
		"secretId=db&" + strings.Repeat("z", 100):                               `"` + strings.Repeat("z", 64) + `"...`,
		"secretId=db&%3Cscript%3E=1":                                            `"<script>"`,
		"secretId=db&refreshNow=maybe":                                          `"maybe"`,
		"secretId=db&versionId=short":                                           "shorter than 32",
		"secretId=db&versionStage=AWSCURRENT%0A":                                "control character",
		"secretId=db&versionStage=a&versionStage=b":                             "versionStage is given 2 times",
		"secretId=db&versionStage=" + url.QueryEscape(strings.Repeat("s", 300)): "longer than 256",
	} {
		q, _ := url.ParseQuery(query)
		_, _, err := parseGetQuery(q)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("parseGetQuery(%q) = %v; want it to mention %s", query, err, want)
		}
	}
}

// FuzzParseGetQuery checks that no query makes the parser panic, and that
// what it accepts is within Secrets Manager's limits.
func FuzzParseGetQuery(f *testing.F) {
	for _, seed := range []string{
		"secretId=db", "secretId=db&versionStage=AWSPREVIOUS&refreshNow=true",
		"secretId=db&versionId=EXAMPLE1-90ab-cdef-fedc-ba987EXAMPLE", "secretId=%FF&x=1&x=2", "a;b", "%",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		key, _, err := parseGetQuery(q)
		if err != nil {
			var qe *queryError
			if !errors.As(err, &qe) || qe.code == "" || qe.message == "" {
				t.Fatalf("error %v is not a queryError", err)
			}
			return
		}
		if key.ID == "" || !utf8.ValidString(key.ID) || utf8.RuneCountInString(key.ID) > item.MaxSecretIDLength {
			t.Fatalf("accepted secretId %q", key.ID)
		}
		if key.VersionID != "" && (len(key.VersionID) < item.MinVersionIDLength || len(key.VersionID) > item.MaxVersionIDLength) {
			t.Fatalf("accepted versionId %q", key.VersionID)
		}
		if utf8.RuneCountInString(key.VersionStage) > item.MaxVersionStageLength {
			t.Fatalf("accepted versionStage %q", key.VersionStage)
		}
	})
}

// TestSecretValueShapeIsTheAWSLayers checks the answer against what the AWS
// layer sends: encoding/json's rendering of the Go SDK's
// GetSecretValueOutput.
// awsLayerDate matches a date member of encoding/json's rendering of an SDK
// output, which the AWS layer writes with exactly three fractional digits.
var awsLayerDate = regexp.MustCompile(`"(CreatedDate|LastModifiedDate)":"([^"]+)"`)

// withAWSLayerDates rewrites the dates of encoding/json's rendering of an
// SDK output as the AWS layer writes them: the only place where its answer
// differs from that rendering.
func withAWSLayerDates(t *testing.T, b []byte) []byte {
	return awsLayerDate.ReplaceAllFunc(b, func(m []byte) []byte {
		parts := awsLayerDate.FindSubmatch(m)
		d, err := time.Parse(time.RFC3339Nano, string(parts[2]))
		if err != nil {
			t.Fatalf("date %s: %v", parts[2], err)
		}
		return []byte(`"` + string(parts[1]) + `":"` + d.UTC().Format("2006-01-02T15:04:05.000Z") + `"`)
	})
}

func TestSecretValueShapeIsTheAWSLayers(t *testing.T) {
	created := time.Date(2023, 12, 28, 14, 57, 31, 359_000_000, time.UTC)
	tests := []struct {
		name string
		sec  item.Value
		out  secretsmanager.GetSecretValueOutput
	}{
		{"string", item.Value{
			ARN: "arn:aws:secretsmanager:eu-central-1:123456789012:secret:db-1QmcxB", Name: "db",
			VersionID: "c593fbd2-274e-421c-8ddc-083371280687", VersionStages: []string{"AWSCURRENT"},
			CreatedDate: created, Text: []byte(`{"username":"root","password":"9#2-:X~c0~>s&<"}`),
		}, secretsmanager.GetSecretValueOutput{
			ARN: aws.String("arn:aws:secretsmanager:eu-central-1:123456789012:secret:db-1QmcxB"), Name: aws.String("db"),
			VersionId: aws.String("c593fbd2-274e-421c-8ddc-083371280687"), VersionStages: []string{"AWSCURRENT"},
			CreatedDate: aws.Time(created), SecretString: aws.String(`{"username":"root","password":"9#2-:X~c0~>s&<"}`),
		}},
		{"binary", item.Value{
			ARN: "arn:aws:secretsmanager:us-east-1:123456789012:secret:bin-AbCdEf", Name: "bin",
			VersionID: "EXAMPLE1-90ab-cdef-fedc-ba987EXAMPLE", VersionStages: []string{"AWSPREVIOUS", "custom"},
			CreatedDate: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC), Binary: []byte{0, 1, 2, 0xfe, 0xff},
		}, secretsmanager.GetSecretValueOutput{
			ARN: aws.String("arn:aws:secretsmanager:us-east-1:123456789012:secret:bin-AbCdEf"), Name: aws.String("bin"),
			VersionId: aws.String("EXAMPLE1-90ab-cdef-fedc-ba987EXAMPLE"), VersionStages: []string{"AWSPREVIOUS", "custom"},
			CreatedDate: aws.Time(time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)), SecretBinary: []byte{0, 1, 2, 0xfe, 0xff},
		}},
		{"empty values", item.Value{
			Name: "e", Text: []byte{}, Binary: []byte{},
		}, secretsmanager.GetSecretValueOutput{
			Name: aws.String("e"), SecretString: aws.String(""), SecretBinary: []byte{},
		}},
		{"nothing", item.Value{}, secretsmanager.GetSecretValueOutput{}},
	}
	for _, tt := range tests {
		want, err := json.Marshal(tt.out)
		if err != nil {
			t.Fatal(err)
		}
		want = withAWSLayerDates(t, want)
		got := marshalSecretValue(&tt.sec)
		if string(got) != string(want) {
			t.Errorf("%s:\n got %s\nwant %s", tt.name, got, want)
		}
		if cap(got) != len(got) {
			t.Errorf("%s: body sized %d for %d bytes: it was reallocated or oversized", tt.name, cap(got), len(got))
		}
	}
	// The local time zone of the extension never shows.
	sec := item.Value{CreatedDate: created.In(time.FixedZone("CET", 3600))}
	if got := string(marshalSecretValue(&sec)); !strings.Contains(got, `"CreatedDate":"2023-12-28T14:57:31.359Z"`) {
		t.Errorf("CreatedDate not in UTC: %s", got)
	}
}

// keyStore records the keys it is asked for and answers from a map.
type keyStore struct {
	mu      sync.Mutex // Gets come concurrently from BatchGetSecretValue
	primary item.Key
	secrets map[string]*item.Value // by SecretID
	err     error
	stale   bool
	keys    []item.Key
	forced  []bool
}

func (s *keyStore) Get(_ context.Context, k item.Key, force bool) (cache.Result, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys = append(s.keys, k)
	s.forced = append(s.forced, force)
	if s.err != nil {
		return cache.Result{}, s.err
	}
	id := ""
	if sk, isSecret := k.(item.SecretKey); isSecret {
		id = sk.ID
	}
	sec, ok := s.secrets[id]
	if !ok {
		return cache.Result{}, &item.Error{Code: item.CodeNotFound, Status: 400, Err: errors.New("Secrets Manager can't find the specified secret.")}
	}
	return cache.Result{Value: sec, FetchedAt: now.Add(-7 * time.Second), Stale: s.stale}, nil
}
func (s *keyStore) Primary() item.Key    { return s.primary }
func (s *keyStore) Layout() cache.Layout { return cache.Layout{} }
func (s *keyStore) Ready() bool          { return true }
func (s *keyStore) Status(item.Key) cache.Status {
	return cache.Status{}
}

func newKeyStore() *keyStore {
	return &keyStore{
		primary: item.SecretKey{ID: "Starfleet", VersionStage: item.StageCurrent},
		secrets: map[string]*item.Value{
			"db": {ARN: "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf", Name: "db", VersionID: "v1",
				VersionStages: []string{"AWSCURRENT"}, Text: []byte(`{"password":"hunter2"}`)},
			"Starfleet": {ARN: "arn:aws:secretsmanager:us-east-1:123456789012:secret:Starfleet-XyZ123", Name: "Starfleet",
				VersionID: "v9", Text: []byte(secretJSON)},
			"arn:aws:secretsmanager:us-east-1:123456789012:secret:Starfleet": {ARN: "arn:aws:secretsmanager:us-east-1:123456789012:secret:Starfleet-XyZ123",
				Name: "Starfleet", VersionID: "v9", Text: []byte(secretJSON)},
		},
	}
}

func TestSecretValueHeadersAndKeys(t *testing.T) {
	store := newKeyStore()
	h := newTestHandler(store)
	w := do(h, "GET", "/secretsmanager/get?secretId=db", nil)
	if w.Code != 200 {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	var got map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil || got["SecretString"] != `{"password":"hunter2"}` || got["SecretBinary"] != nil {
		t.Errorf("body %s (%v)", w.Body, err)
	}
	for header, want := range map[string]string{
		"Content-Type": "application/json", "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff", "Age": "7",
	} {
		if got := w.Header().Get(header); got != want {
			t.Errorf("%s = %q, want %q", header, got, want)
		}
	}
	etag := w.Header().Get("ETag")
	if etag == "" || w.Header().Get("Warning") != "" {
		t.Errorf("ETag %q Warning %q", etag, w.Header().Get("Warning"))
	}
	if w := do(h, "GET", "/secretsmanager/get?secretId=db", http.Header{"If-None-Match": {etag}}); w.Code != 304 || w.Body.Len() != 0 {
		t.Errorf("If-None-Match: %d %q", w.Code, w.Body)
	}
	if other := do(h, "GET", "/secretsmanager/get?secretId=Starfleet", nil).Header().Get("ETag"); other == etag || other == "" {
		t.Errorf("two secrets' ETags: %q and %q", etag, other)
	}

	do(h, "GET", "/secretsmanager/get?secretId=db&versionStage=AWSPREVIOUS&refreshNow=true", nil)
	do(h, "GET", "/secretsmanager/get?secretId=db", http.Header{"Cache-Control": {"no-cache"}})
	want := []item.Key{item.SecretKey{ID: "db", VersionStage: "AWSPREVIOUS"}, item.SecretKey{ID: "db"}}
	n := len(store.keys)
	if store.keys[n-2] != want[0] || store.keys[n-1] != want[1] || !store.forced[n-2] || !store.forced[n-1] || store.forced[0] {
		t.Errorf("keys %+v forced %v", store.keys, store.forced)
	}

	store.stale = true
	if w := do(h, "GET", "/secretsmanager/get?secretId=db", nil); w.Code != 200 || w.Header().Get("Warning") != `110 - "Response is Stale"` {
		t.Errorf("stale: %d Warning %q", w.Code, w.Header().Get("Warning"))
	}
}

func TestSecretValueErrors(t *testing.T) {
	tests := []struct {
		name   string
		err    error
		target string
		header http.Header
		status int
		code   string
		says   string
	}{
		{"unknown parameter", nil, "/secretsmanager/get?secretId=db&SecretId=db", nil, 400, "UnknownParameter", `"SecretId"`},
		{"missing secretId", nil, "/secretsmanager/get", nil, 400, "MissingParameter", "secretId"},
		{"repeated", nil, "/secretsmanager/get?secretId=db&secretId=db", nil, 400, "RepeatedParameter", "secretId"},
		{"bad refreshNow", nil, "/secretsmanager/get?secretId=db&refreshNow=soon", nil, 400, "InvalidParameter", "refreshNow"},
		{"semicolon", nil, "/secretsmanager/get?secretId=db;versionStage=x", nil, 400, "InvalidQuery", "semicolon"},
		{"bad escape", nil, "/secretsmanager/get?secretId=%zz", nil, 400, "InvalidQuery", "escape"},
		{"no token", nil, "/secretsmanager/get?secretId=db", http.Header{TokenHeader: {""}}, 403, "MissingToken", TokenHeader},
		{"wrong token", nil, "/secretsmanager/get?secretId=db", http.Header{TokenHeader: {"nope"}}, 403, "InvalidToken", TokenHeader},
		{"post", nil, "/secretsmanager/get?secretId=db", nil, 405, "MethodNotAllowed", "GET"},
		{"forwarded", nil, "/secretsmanager/get?secretId=db", http.Header{"X-Forwarded-For": {"10.0.0.1"}}, 400, "ForwardedRequest", "X-Forwarded-For"},
		{"not found", nil, "/secretsmanager/get?secretId=nope", nil, 502, "ResourceNotFoundException", "no secret with this secretId"},
		{"access denied", &item.Error{Code: "AccessDeniedException", Err: errors.New("User is not authorized")}, "/secretsmanager/get?secretId=db", nil, 502, "AccessDeniedException", "secretsmanager:GetSecretValue"},
		{"timeout", &item.Error{Code: item.CodeTimeout, Transient: true, Err: context.DeadlineExceeded}, "/secretsmanager/get?secretId=db", nil, 504, "Timeout", "did not answer"},
		{"throttled", &item.Error{Code: "ThrottlingException", Transient: true, Err: errors.New("Rate exceeded")}, "/secretsmanager/get?secretId=db", nil, 502, "ThrottlingException", "Rate exceeded"},
		{"shutting down", &item.Error{Code: item.CodeShuttingDown, Err: errors.New("closing")}, "/secretsmanager/get?secretId=db", nil, 503, "ShuttingDown", "closing"},
		{"not an upstream error", errors.New("weird"), "/secretsmanager/get?secretId=db", nil, 502, "UpstreamError", "fetching the secret failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := newKeyStore()
			store.err = tt.err
			method := "GET"
			if tt.name == "post" {
				method = "POST"
			}
			w := do(newTestHandler(store), method, tt.target, tt.header)
			var body apiError
			if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
				t.Fatalf("body is not JSON: %q", w.Body)
			}
			if w.Code != tt.status || body.Code != tt.code || !strings.Contains(body.Message, tt.says) {
				t.Errorf("%d %s; want %d %s saying %q", w.Code, w.Body, tt.status, tt.code, tt.says)
			}
			if strings.Contains(body.Message, "unexpected error") || strings.Contains(w.Body.String(), "hunter2") {
				t.Errorf("body %s", w.Body)
			}
			if tt.status == 400 && len(store.keys) != 0 {
				t.Errorf("a refused query reached the store: %+v", store.keys)
			}
		})
	}
}

func TestSecretValueRespectsAllow(t *testing.T) {
	store := newKeyStore()
	h := newTestHandler(store, "STARFLEET")
	for _, id := range []string{"Starfleet", "arn:aws:secretsmanager:us-east-1:123456789012:secret:Starfleet"} {
		w := do(h, "GET", "/secretsmanager/get?secretId="+url.QueryEscape(id), nil)
		if w.Code != 403 || !strings.Contains(w.Body.String(), "SecretNotAllowed") || strings.Contains(w.Body.String(), "s3cr3t") {
			t.Errorf("%s: %d %s", id, w.Code, w.Body)
		}
	}
	if w := do(h, "GET", "/secretsmanager/get?secretId=db", nil); w.Code != 200 {
		t.Errorf("another secret: %d %s", w.Code, w.Body)
	}
	if w := do(newTestHandler(store), "GET", "/secretsmanager/get?secretId=Starfleet", nil); w.Code != 200 {
		t.Errorf("no allow list: %d %s", w.Code, w.Body)
	}
}

func TestIsSecret(t *testing.T) {
	sec := &item.Value{Name: "prod/Starfleet", ARN: "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/Starfleet-AbCdEf"}
	for id, want := range map[string]bool{
		"prod/Starfleet": true,
		"arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/Starfleet-AbCdEf": true,
		"arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/Starfleet":        true,
		"arn:aws:secretsmanager:us-east-1:123456789012:secret:prod":                  false,
		"Starfleet": false,
		"prod":      false,
	} {
		if got := item.IsSecret(id, sec.Name, sec.ARN); got != want {
			t.Errorf("IsSecret(%q) = %v", id, got)
		}
	}
}

func (s *keyStore) GetParameters(ctx context.Context, keys []item.ParameterKey) ([]cache.Result, []error) {
	return getEach(ctx, s, keys)
}
func (s *keyStore) Invalidate(func(item.Key, *item.Value) bool) {}
