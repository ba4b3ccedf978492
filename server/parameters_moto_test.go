package server

// Tests of /systemsmanager/parameters/get against moto's Parameter Store,
// through the real cache and the real AWS SDK source.

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/starfleet/starfleet-secrets/cache"
	"github.com/starfleet/starfleet-secrets/item"
	"github.com/starfleet/starfleet-secrets/upstream/upstreamtest"
)

const gp = "GetParameter"

func (e *motoEnv) putParameter(name, value string, kind types.ParameterType) {
	e.t.Helper()
	e.values = append(e.values, value)
	_, err := upstreamtest.SSMClient(moto.URL()).PutParameter(e.t.Context(), &ssm.PutParameterInput{
		Name: aws.String(name), Value: aws.String(value), Type: kind, Overwrite: aws.Bool(true),
	})
	if err != nil {
		e.t.Fatalf("PutParameter %s: %v", name, err)
	}
}

func (e *motoEnv) labelParameter(name string, version int64, label string) {
	e.t.Helper()
	_, err := upstreamtest.SSMClient(moto.URL()).LabelParameterVersion(e.t.Context(), &ssm.LabelParameterVersionInput{
		Name: aws.String(name), ParameterVersion: aws.Int64(version), Labels: []string{label},
	})
	if err != nil {
		e.t.Fatalf("LabelParameterVersion %s: %v", name, err)
	}
}

func paramURL(name string, params ...string) string {
	q := "/systemsmanager/parameters/get?name=" + url.QueryEscape(name)
	for i := 0; i+1 < len(params); i += 2 {
		q += "&" + params[i] + "=" + url.QueryEscape(params[i+1])
	}
	return q
}

func TestParameterGolden(t *testing.T) {
	e := newMotoEnv(t, motoOptions{})
	e.putParameter("/golden/string", "first <value>", types.ParameterTypeString)
	e.putParameter("/golden/string", "second & last", types.ParameterTypeString)
	e.labelParameter("/golden/string", 1, "old")
	e.putParameter("/golden/list", "a,b,c", types.ParameterTypeStringList)
	e.putParameter("/golden/secure", "s3cure-v4lue", types.ParameterTypeSecureString)
	e.createString("golden/referenced", `{"db":"passw0rd"}`, version1)

	tests := []struct {
		golden string
		target string
		header http.Header
		status int
	}{
		{"param-string.json", paramURL("/golden/string"), nil, 200},
		{"param-string.json", paramURL("/golden/string", "withDecryption", "true"), nil, 200},
		{"param-version.json", paramURL("/golden/string", "version", "1"), nil, 200},
		{"param-version.json", paramURL("/golden/string:1"), nil, 200},
		{"param-label.json", paramURL("/golden/string", "label", "old"), nil, 200},
		{"param-label.json", paramURL("/golden/string:old"), nil, 200},
		{"param-string-list.json", paramURL("/golden/list"), nil, 200},
		{"param-secure-encrypted.json", paramURL("/golden/secure"), nil, 200},
		{"param-secure-decrypted.json", paramURL("/golden/secure", "withDecryption", "true"), nil, 200},
		{"param-reference.json", paramURL(item.ReferencePrefix+"golden/referenced", "withDecryption", "true"), nil, 200},
		{"param-not-found.json", paramURL("/golden/missing"), nil, 502},
		{"param-version-not-found.json", paramURL("/golden/string", "version", "9"), nil, 502},
		{"param-missing-name.json", "/systemsmanager/parameters/get?withDecryption=true", nil, 400},
		{"param-unknown-param.json", paramURL("/golden/string", "secretId", "x"), nil, 400},
		{"param-version-and-label.json", paramURL("/golden/string", "version", "1", "label", "old"), nil, 400},
		{"param-selector-twice.json", paramURL("/golden/string:1", "version", "1"), nil, 400},
		{"param-missing-token.json", paramURL("/golden/string"), http.Header{TokenHeader: nil}, 403},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			for _, path := range []string{tt.target, strings.Replace(tt.target, "/get?", "/get/?", 1)} {
				r := httptest.NewRequest("GET", path, nil)
				if tt.header == nil {
					r.Header.Set(TokenHeader, testToken)
				}
				w := httptest.NewRecorder()
				e.handler.ServeHTTP(w, r)
				if w.Code != tt.status {
					t.Errorf("%s: status %d, want %d: %s", path, w.Code, tt.status, w.Body)
				}
				if hdr := w.Header(); hdr.Get("Content-Type") != "application/json" || hdr.Get("Cache-Control") != "no-store" {
					t.Errorf("%s: headers %v", path, hdr)
				}
				checkGolden(t, tt.golden, w.Body.Bytes())
			}
		})
	}
}

// TestParameterDecryptionIsPartOfTheKey: a SecureString read without
// decryption is never served to a request with it, nor the other way.
func TestParameterDecryptionIsPartOfTheKey(t *testing.T) {
	e := newMotoEnv(t, motoOptions{})
	e.putParameter("/app/secure", "plain-t3xt", types.ParameterTypeSecureString)
	encrypted := e.get(paramURL("/app/secure"), nil).Body.String()
	decrypted := e.get(paramURL("/app/secure", "withDecryption", "true"), nil).Body.String()
	if strings.Contains(encrypted, `"Value":"plain-t3xt"`) || !strings.Contains(decrypted, `"Value":"plain-t3xt"`) {
		t.Errorf("encrypted %s\ndecrypted %s", encrypted, decrypted)
	}
	if again := e.get(paramURL("/app/secure"), nil).Body.String(); again != encrypted {
		t.Errorf("the decrypted value leaked into the other key: %s", again)
	}
	if n := e.proxy.Count(gp); n != 2 {
		t.Errorf("%d GetParameter calls, want 2 (one per key)", n)
	}
}

// TestParameterFreshness runs the secrets' rules on a parameter: served
// from memory within the TTL, one upstream call for concurrent misses,
// stale with a warning while Parameter Store fails, forced refresh.
func TestParameterFreshness(t *testing.T) {
	e := newMotoEnv(t, motoOptions{policy: cache.Policy{TTL: time.Minute, MaxStale: time.Hour, ForceInterval: time.Second}})
	e.putParameter("/app/flag", "flag-on-Qz7", types.ParameterTypeString)
	target := paramURL("/app/flag", "withDecryption", "true")

	e.proxy.Hold(gp)
	var wg sync.WaitGroup
	answers := make(chan string, 20)
	for range 20 {
		wg.Go(func() { answers <- e.get(target, nil).Body.String() })
	}
	if err := e.proxy.WaitHeld(t.Context(), gp, 1); err != nil {
		t.Fatal(err)
	}
	e.proxy.Release(gp)
	wg.Wait()
	close(answers)
	for a := range answers {
		if !strings.Contains(a, `"Value":"flag-on-Qz7"`) {
			t.Fatalf("concurrent read: %s", a)
		}
	}
	if n := e.proxy.Count(gp); n != 1 {
		t.Errorf("%d GetParameter calls for 20 concurrent misses, want 1", n)
	}

	e.putParameter("/app/flag", "flag-off-Wr4", types.ParameterTypeString)
	if w := e.get(target, nil); !strings.Contains(w.Body.String(), `"Value":"flag-on-Qz7"`) || w.Header().Get("Age") != "0" {
		t.Errorf("within the TTL: %s %v", w.Body, w.Header())
	}
	e.clock.Advance(2 * time.Minute)
	e.proxy.SetFault(gp, upstreamtest.Throttle)
	w := e.get(target, nil)
	if !strings.Contains(w.Body.String(), `"Value":"flag-on-Qz7"`) || w.Header().Get("Warning") != `110 - "Response is Stale"` {
		t.Errorf("expired, throttled: %d %s %v", w.Code, w.Body, w.Header())
	}
	e.proxy.ClearFaults()
	e.clock.Advance(time.Minute) // past the backoff
	if w := e.get(target+"&refreshNow=true", nil); !strings.Contains(w.Body.String(), `"Value":"flag-off-Wr4"`) || w.Header().Get("Warning") != "" {
		t.Errorf("forced after recovery: %d %s %v", w.Code, w.Body, w.Header())
	}

	// Nothing cached and access denied: the AWS code, its own message and
	// the request id, without the SDK's wrapper text.
	e.proxy.SetFault(gp, upstreamtest.AccessDenied)
	w = e.get(paramURL("/app/denied"), nil)
	checkError(t, w, 502, "AccessDeniedException", "not authorized", "ssm:GetParameter")
	checkGolden(t, "param-access-denied.json", w.Body.Bytes())
	if strings.Contains(w.Body.String(), "operation error") || strings.Contains(w.Body.String(), "StatusCode") {
		t.Errorf("the SDK's wrapper text reached the caller: %s", w.Body)
	}
}

func TestParameterReferenceRespectsTheAllowList(t *testing.T) {
	e := newMotoEnv(t, motoOptions{allow: []string{"STARFLEET"}})
	e.createString("Starfleet", `{"STARFLEET":{"SlackToken":"xoxb-r3f"},"GitHubSyncWorker":"pem-r3f"}`, "")
	e.createString("other", `{"x":1}`, "")
	w := e.get(paramURL(item.ReferencePrefix+"Starfleet", "withDecryption", "true"), nil)
	checkError(t, w, 403, "SecretNotAllowed")
	if strings.Contains(w.Body.String(), "r3f") {
		t.Errorf("the refusal carries the secret: %s", w.Body)
	}
	if w := e.get(paramURL(item.ReferencePrefix+"other", "withDecryption", "true"), nil); w.Code != 200 {
		t.Errorf("another secret by reference: %d %s", w.Code, w.Body)
	}
}
