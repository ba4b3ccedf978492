package server

// Tests of /secretsmanager/get against a real Secrets Manager emulator
// (moto), through the real cache and the real AWS SDK source, with a
// counting, fault-injecting proxy in between.

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/starfleet/starfleet-secrets/cache"
	"github.com/starfleet/starfleet-secrets/cache/cachetest"
	"github.com/starfleet/starfleet-secrets/item"
	"github.com/starfleet/starfleet-secrets/upstream"
	"github.com/starfleet/starfleet-secrets/upstream/awsconfig"
	"github.com/starfleet/starfleet-secrets/upstream/upstreamtest"
)

var (
	moto   *upstreamtest.Moto
	update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")
)

func TestMain(m *testing.M) { os.Exit(upstreamtest.RunWithMoto(m, &moto)) }

const gsv = "GetSecretValue"

// Version ids the tests create versions with (ClientRequestToken), so that
// a test can ask for one by versionId.
const (
	version1 = "00000000-0000-4000-8000-000000000001"
	version2 = "00000000-0000-4000-8000-000000000002"
)

type motoOptions struct {
	size         int
	policy       cache.Policy
	fetchTimeout time.Duration
	allow        []string
}

// motoEnv is the extension's cache and API in front of moto.
type motoEnv struct {
	t       *testing.T
	proxy   *upstreamtest.Proxy    // between the cache and moto: counts and faults
	admin   *secretsmanager.Client // straight to moto: setup, not counted
	cache   *cache.Cache
	handler http.Handler
	clock   *cachetest.Clock
	logs    *bytes.Buffer // read once the cache is closed
	values  []string      // secret values created, which must never be logged
}

// newMotoEnv resets moto and builds the extension's cache and handler,
// reading Secrets Manager through a new proxy. It sets the AWS SDK's
// environment variables, so tests using it cannot run in parallel.
func newMotoEnv(t *testing.T, o motoOptions) *motoEnv {
	t.Helper()
	if err := moto.Reset(t.Context()); err != nil {
		t.Fatal(err)
	}
	e := &motoEnv{
		t:     t,
		proxy: upstreamtest.NewProxy(moto.URL()),
		admin: upstreamtest.Client(moto.URL()),
		clock: cachetest.NewClock(time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)),
		logs:  &bytes.Buffer{},
	}
	t.Cleanup(e.proxy.Close)
	// upstream.NewSecretsManager reads the standard AWS configuration chain,
	// AWS_ENDPOINT_URL_SECRETS_MANAGER included: the way the extension is
	// configured in production.
	for _, kv := range upstreamtest.Env(e.proxy.URL()) {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	awsConfig, err := awsconfig.LoadAWS(t.Context(), os.LookupEnv, nil)
	if err != nil {
		t.Fatal(err)
	}
	clients, err := upstream.NewClients(awsConfig, "", "test")
	if err != nil {
		t.Fatal(err)
	}
	src, params := upstream.NewSecretsManager(clients), upstream.NewParameterStore(clients)
	if o.fetchTimeout == 0 {
		o.fetchTimeout = 10 * time.Second
	}
	if o.policy.TTL == 0 {
		o.policy.TTL = time.Hour
	}
	if o.size == 0 {
		o.size = 100
	}
	log := slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e.cache = cache.New(cache.Options{
		Source:          src,
		Secrets:         cache.Rules{Policy: o.policy, FetchTimeout: o.fetchTimeout},
		Primary:         item.SecretKey{ID: "Starfleet", VersionStage: item.StageCurrent},
		Size:            o.size,
		Now:             e.clock.Now,
		Logger:          log,
		ParameterSource: params,
		Sleep:           func(_ context.Context, d time.Duration) error { e.clock.Advance(d); return nil },
		Parameters:      cache.Rules{Policy: o.policy, FetchTimeout: o.fetchTimeout},
	})
	t.Cleanup(func() {
		e.cache.Close()
		logs := e.logs.String()
		for _, v := range e.values {
			if strings.Contains(logs, v) {
				t.Errorf("a secret value is in the logs:\n%s", logs)
			}
		}
	})
	e.handler = New(Options{Store: e.cache, Token: testToken, Allow: o.allow, Now: e.clock.Now, Logger: log, Settings: programSettings})
	return e
}

func (e *motoEnv) createString(name, value, token string) {
	e.t.Helper()
	e.values = append(e.values, value)
	_, err := e.admin.CreateSecret(e.t.Context(), &secretsmanager.CreateSecretInput{
		Name: aws.String(name), SecretString: aws.String(value), ClientRequestToken: optional(token),
	})
	if err != nil {
		e.t.Fatalf("CreateSecret %s: %v", name, err)
	}
}

func (e *motoEnv) createBinary(name string, value []byte, token string) {
	e.t.Helper()
	_, err := e.admin.CreateSecret(e.t.Context(), &secretsmanager.CreateSecretInput{
		Name: aws.String(name), SecretBinary: value, ClientRequestToken: optional(token),
	})
	if err != nil {
		e.t.Fatalf("CreateSecret %s: %v", name, err)
	}
}

// put makes value the AWSCURRENT version of name; the previous one becomes
// AWSPREVIOUS.
func (e *motoEnv) put(name, value, token string) {
	e.t.Helper()
	e.values = append(e.values, value)
	_, err := e.admin.PutSecretValue(e.t.Context(), &secretsmanager.PutSecretValueInput{
		SecretId: aws.String(name), SecretString: aws.String(value), ClientRequestToken: optional(token),
	})
	if err != nil {
		e.t.Fatalf("PutSecretValue %s: %v", name, err)
	}
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return aws.String(s)
}

func (e *motoEnv) get(target string, header http.Header) *httptest.ResponseRecorder {
	return do(e.handler, "GET", target, header)
}

// secretString decodes an answer's SecretString.
func secretString(t *testing.T, w *httptest.ResponseRecorder) string {
	t.Helper()
	var out struct{ SecretString *string }
	if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil || out.SecretString == nil {
		t.Fatalf("no SecretString in %d %s (%v)", w.Code, w.Body, err)
	}
	return *out.SecretString
}

func getURL(secretID string, params ...string) string {
	q := "/secretsmanager/get?secretId=" + url.QueryEscape(secretID)
	for i := 0; i+1 < len(params); i += 2 {
		q += "&" + params[i] + "=" + url.QueryEscape(params[i+1])
	}
	return q
}

func TestAWSGetGolden(t *testing.T) {
	e := newMotoEnv(t, motoOptions{})
	e.createString("golden/string", `{"user":"admin","password":"p<a>ss&wörd"}`, version1)
	e.createBinary("golden/binary", []byte{0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff, 'S', 'F'}, version1)
	e.createString("golden/rotated", "first value", version1)
	e.put("golden/rotated", "second value", version2)

	tests := []struct {
		golden string
		target string
		header http.Header
		status int
	}{
		{"awsapi-string.json", getURL("golden/string"), nil, 200},
		{"awsapi-binary.json", getURL("golden/binary"), nil, 200},
		{"awsapi-current.json", getURL("golden/rotated"), nil, 200},
		{"awsapi-version-id.json", getURL("golden/rotated", "versionId", version1), nil, 200},
		{"awsapi-version-stage-previous.json", getURL("golden/rotated", "versionStage", "AWSPREVIOUS"), nil, 200},
		{"awsapi-not-found.json", getURL("golden/missing"), nil, 502},
		{"awsapi-stage-not-found.json", getURL("golden/string", "versionStage", "AWSPENDING"), nil, 502},
		{"awsapi-unknown-param.json", getURL("golden/string", "withDecryption", "true"), nil, 400},
		{"awsapi-missing-secret-id.json", "/secretsmanager/get?versionStage=AWSCURRENT", nil, 400},
		{"awsapi-missing-token.json", getURL("golden/string"), http.Header{TokenHeader: nil}, 403},
	}
	for _, tt := range tests {
		t.Run(strings.TrimSuffix(tt.golden, ".json"), func(t *testing.T) {
			r := httptest.NewRequest("GET", tt.target, nil)
			if tt.header == nil {
				r.Header.Set(TokenHeader, testToken)
			}
			w := httptest.NewRecorder()
			e.handler.ServeHTTP(w, r)
			if w.Code != tt.status {
				t.Errorf("status %d, want %d: %s", w.Code, tt.status, w.Body)
			}
			hdr := w.Header()
			if hdr.Get("Content-Type") != "application/json" || hdr.Get("Cache-Control") != "no-store" || hdr.Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("headers %v", hdr)
			}
			if tt.status == 200 && (hdr.Get("ETag") == "" || hdr.Get("Age") != "0" || hdr.Get("Warning") != "") {
				t.Errorf("data headers %v", hdr)
			}
			checkGolden(t, tt.golden, w.Body.Bytes())
		})
	}

	// A full ARN, a partial ARN and the name read the same version.
	byName := e.get(getURL("golden/string"), nil).Body.String()
	var out struct{ ARN string }
	json.Unmarshal([]byte(byName), &out)
	for _, id := range []string{out.ARN, strings.TrimSuffix(out.ARN, out.ARN[len(out.ARN)-7:])} {
		if w := e.get(getURL(id), nil); w.Code != 200 || w.Body.String() != byName {
			t.Errorf("by ARN %s: %d %s", id, w.Code, w.Body)
		}
	}
}

var (
	arnSuffix   = regexp.MustCompile(`(arn:aws:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:[^"\\]*)-[A-Za-z0-9]{6}(\\?")`)
	epochDate   = regexp.MustCompile(`(\\"(?:LastChangedDate|CreatedDate)\\": )[0-9]+`)
	createdDate = regexp.MustCompile(`"(?:CreatedDate|LastModifiedDate)":"([^"]*)"`)
	awsDateForm = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`)
	requestID   = regexp.MustCompile(`"request_id":"[A-Za-z0-9-]+"`)
)

// normalize replaces what changes from run to run: the random suffix of
// ARNs, the version ids, the dates (after checking their format; those
// inside a reference's SourceResult are epoch seconds) and request ids. ResultMetadata is always {}.
func normalize(t *testing.T, body []byte) []byte {
	t.Helper()
	for _, m := range createdDate.FindAllSubmatch(body, -1) {
		if !awsDateForm.Match(m[1]) {
			t.Errorf("date %s is not UTC with three fractional digits, as the AWS layer writes it", m[1])
		}
	}
	body = createdDate.ReplaceAllFunc(body, func(m []byte) []byte {
		name, _, _ := bytes.Cut(m, []byte(":"))
		return append(name, `:"<created>"`...)
	})
	body = arnSuffix.ReplaceAll(body, []byte(`$1-XXXXXX$2`))
	body = epochDate.ReplaceAll(body, []byte(`$1<epoch>`))
	body = bytes.ReplaceAll(body, []byte(version1), []byte("<version-1>"))
	body = bytes.ReplaceAll(body, []byte(version2), []byte("<version-2>"))
	return requestID.ReplaceAll(body, []byte(`"request_id":"<request-id>"`))
}

// checkGolden compares the normalized body with testdata/golden/name, or
// rewrites that file under -update.
func checkGolden(t *testing.T, name string, body []byte) {
	t.Helper()
	got := append(bytes.TrimRight(normalize(t, body), "\n"), '\n')
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run %s -update to create it)", err, t.Name())
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (run go test -update to accept):\n got %s\nwant %s", path, got, want)
	}
}

// TestAWSGetSharesThePrimaryEntry checks that the AWS endpoint asking for
// the Starfleet secret at AWSCURRENT is answered from the entry the slice
// routes use: one upstream call for all of them.
func TestAWSGetSharesThePrimaryEntry(t *testing.T) {
	e := newMotoEnv(t, motoOptions{})
	e.createString("Starfleet", secretJSON, "")
	if w := e.get("/secret/STARFLEET", nil); w.Code != 200 {
		t.Fatalf("slice: %d %s", w.Code, w.Body)
	}
	for _, target := range []string{getURL("Starfleet"), getURL("Starfleet", "versionStage", "AWSCURRENT")} {
		w := e.get(target, nil)
		if w.Code != 200 || secretString(t, w) != secretJSON {
			t.Errorf("%s: %d %s", target, w.Code, w.Body)
		}
	}
	if n := e.proxy.Count(gsv); n != 1 {
		t.Errorf("%d GetSecretValue calls, want 1 shared by both routes", n)
	}
	if n := e.cache.Len(); n != 0 {
		t.Errorf("%d entries in the LRU, want 0: the primary is pinned apart", n)
	}
	// The AWS endpoint does not need the secret to be a Starfleet document.
	e.createString("plain", "not JSON at all", "")
	if w := e.get(getURL("plain"), nil); w.Code != 200 || secretString(t, w) != "not JSON at all" {
		t.Errorf("plain secret: %d %s", w.Code, w.Body)
	}
}

// TestAWSGetLRU reads 10 secrets through a cache of size 3 with one hot
// secret read between all others.
func TestAWSGetLRU(t *testing.T) {
	e := newMotoEnv(t, motoOptions{size: 3})
	name := func(i int) string { return fmt.Sprintf("lru/%d", i) }
	for i := range 10 {
		e.createString(name(i), fmt.Sprintf("value-%d", i), "")
	}
	read := func(i int) {
		t.Helper()
		w := e.get(getURL(name(i)), nil)
		if w.Code != 200 || secretString(t, w) != fmt.Sprintf("value-%d", i) {
			t.Fatalf("%s: %d %s", name(i), w.Code, w.Body)
		}
		if n := e.cache.Len(); n > 3 {
			t.Fatalf("the LRU holds %d secrets, more than its size 3", n)
		}
	}
	const hot = 0
	read(hot)
	for i := 1; i < 10; i++ {
		read(i)
		read(hot)
	}
	if n := e.proxy.Count(gsv); n != 10 {
		t.Errorf("%d GetSecretValue calls for 10 secrets, want 10", n)
	}
	if n := e.proxy.CountSecret(gsv, name(hot)); n != 1 {
		t.Errorf("the hot secret was fetched %d times, want 1: it was evicted", n)
	}
	if n := e.cache.Len(); n != 3 {
		t.Errorf("the LRU holds %d secrets, want 3", n)
	}
	// Now the LRU holds lru/8, lru/9 and the hot one.
	read(9)
	read(8)
	read(1) // evicted long ago
	for i, want := range map[int]int{9: 1, 8: 1, 1: 2, hot: 1} {
		if n := e.proxy.CountSecret(gsv, name(i)); n != want {
			t.Errorf("%s fetched %d times, want %d", name(i), n, want)
		}
	}
}

func TestAWSGetRefreshNow(t *testing.T) {
	e := newMotoEnv(t, motoOptions{policy: cache.Policy{ForceInterval: time.Minute}})
	e.createString("rotating", "one", "")
	target := getURL("rotating")
	if got := secretString(t, e.get(target, nil)); got != "one" {
		t.Fatalf("first read %q", got)
	}
	e.put("rotating", "two", "")
	if got := secretString(t, e.get(target, nil)); got != "one" {
		t.Errorf("cached read %q, want one", got)
	}
	if n := e.proxy.Count(gsv); n != 1 {
		t.Errorf("%d calls, want 1", n)
	}
	// A forced refresh within ForceInterval of the last call waits for the
	// next allowed one and answers what it fetched, never the older value.
	e.clock.Advance(10 * time.Second)
	before := e.clock.Now()
	if got := secretString(t, e.get(target+"&refreshNow=true", nil)); got != "two" || e.proxy.Count(gsv) != 2 {
		t.Errorf("refreshNow=true inside the interval: %q after %d calls", got, e.proxy.Count(gsv))
	}
	if waited := e.clock.Now().Sub(before); waited != 50*time.Second {
		t.Errorf("the forced refresh waited %v, want the rest of the interval (50s)", waited)
	}
	e.put("rotating", "three", "")
	e.clock.Advance(2 * time.Minute)
	if got := secretString(t, e.get(target+"&refreshNow=false", nil)); got != "two" || e.proxy.Count(gsv) != 2 {
		t.Errorf("refreshNow=false: %q after %d calls", got, e.proxy.Count(gsv))
	}
	if got := secretString(t, e.get(target, http.Header{"Cache-Control": {"no-cache"}})); got != "three" || e.proxy.Count(gsv) != 3 {
		t.Errorf("Cache-Control: no-cache: %q after %d calls", got, e.proxy.Count(gsv))
	}
}

func TestAWSGetUpstreamFailures(t *testing.T) {
	e := newMotoEnv(t, motoOptions{policy: cache.Policy{TTL: time.Minute, MaxStale: time.Hour}})
	e.createString("flaky", "still here", "")
	target := getURL("flaky")
	if w := e.get(target, nil); w.Code != 200 {
		t.Fatalf("%d %s", w.Code, w.Body)
	}

	// Expired, and Secrets Manager fails: the last value, with a warning.
	e.clock.Advance(2 * time.Minute)
	e.proxy.SetFault(gsv, upstreamtest.InternalError)
	w := e.get(target, nil)
	if w.Code != 200 || secretString(t, w) != "still here" || w.Header().Get("Warning") != `110 - "Response is Stale"` || w.Header().Get("Age") != "120" {
		t.Errorf("stale: %d %v %s", w.Code, w.Header(), w.Body)
	}

	// Nothing cached: the AWS error, named.
	e.proxy.SetFault(gsv, upstreamtest.AccessDenied)
	e.createString("denied", "never read", "")
	w = e.get(getURL("denied"), nil)
	checkError(t, w, 502, "AccessDeniedException", "not authorized", "secretsmanager:GetSecretValue")

	e.proxy.SetFault(gsv, upstreamtest.InternalError)
	e.createString("broken", "never read either", "")
	w = e.get(getURL("broken"), nil)
	checkError(t, w, 502, "InternalServiceError", "An internal error occurred")
}

func TestAWSGetTimeout(t *testing.T) {
	e := newMotoEnv(t, motoOptions{fetchTimeout: 300 * time.Millisecond})
	e.createString("slow", "late", "")
	e.proxy.SetFault(gsv, upstreamtest.Slow)
	w := e.get(getURL("slow"), nil)
	checkError(t, w, 504, "Timeout", "did not answer within")
}

func checkError(t *testing.T, w *httptest.ResponseRecorder, status int, code string, says ...string) {
	t.Helper()
	var body apiError
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
		t.Fatalf("not a JSON error: %d %s", w.Code, w.Body)
	}
	if w.Code != status || body.Code != code {
		t.Errorf("got %d %s, want %d %s", w.Code, w.Body, status, code)
	}
	for _, s := range says {
		if !strings.Contains(body.Message, s) {
			t.Errorf("message %q does not say %q", body.Message, s)
		}
	}
}
