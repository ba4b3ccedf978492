package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/starfleet/starfleet-secrets/item"
	"github.com/starfleet/starfleet-secrets/upstream"

	"github.com/starfleet/starfleet-secrets/server/sdkproto"
	"github.com/starfleet/starfleet-secrets/server/sigv4"
)

// testKey is the credentials the extension holds in these tests.
var testKey = sigv4.Key{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", SessionToken: "session-token-1"}

// fakeAWS holds testKey and records the calls it forwards.
type fakeAWS struct {
	mu        sync.Mutex
	forwarded []upstream.Call
	renewals  int
}

func (f *fakeAWS) Credentials(context.Context) (aws.Credentials, error) {
	return aws.Credentials{AccessKeyID: testKey.AccessKeyID, SecretAccessKey: testKey.SecretAccessKey, SessionToken: testKey.SessionToken}, nil
}

func (f *fakeAWS) RenewCredentials() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.renewals++
	return f.renewals == 1
}

func (f *fakeAWS) HomeRegion(string) string { return "us-east-1" }

func (f *fakeAWS) Forward(_ context.Context, call upstream.Call) (*upstream.Answer, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.forwarded = append(f.forwarded, call)
	return &upstream.Answer{Status: 200, Header: http.Header{"X-Amzn-Requestid": {"upstream-id"}}, Body: []byte(`{"forwarded":true}`)}, nil
}

// invalidatingStore is a keyStore that records Invalidate's predicates.
type invalidatingStore struct {
	*keyStore
	stale []func(item.Key, *item.Value) bool
}

func (s *invalidatingStore) Invalidate(stale func(item.Key, *item.Value) bool) {
	s.stale = append(s.stale, stale)
}

// sdkRequest is a request of the SDK's protocol; sign signs it with key
// as the AWS SDK for Go v2 does.
func sdkRequest(t *testing.T, target, body string, sign *sigv4.Key) *http.Request {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-amz-json-1.1")
	r.Header.Set("X-Amz-Target", target)
	if sign != nil {
		r.Header.Set("X-Amz-Security-Token", sign.SessionToken)
		sum := sha256.Sum256([]byte(body))
		service := "secretsmanager"
		if strings.HasPrefix(target, "AmazonSSM.") {
			service = "ssm"
		}
		creds := aws.Credentials{AccessKeyID: sign.AccessKeyID, SecretAccessKey: sign.SecretAccessKey, SessionToken: sign.SessionToken}
		if err := v4.NewSigner().SignHTTP(t.Context(), creds, r, hex.EncodeToString(sum[:]), service, "us-east-1", now); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

type sdkErrorBody struct {
	Type    string `json:"__type"`
	Message string `json:"message"`
}

func serveSDK(h http.Handler, r *http.Request) (*httptest.ResponseRecorder, sdkErrorBody) {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	var e sdkErrorBody
	json.Unmarshal(w.Body.Bytes(), &e)
	return w, e
}

func newSDKHandler(store Store, aws sdkproto.AWS, allow ...string) http.Handler {
	return New(Options{Store: store, Token: testToken, Allow: allow, Now: func() time.Time { return now }, Settings: programSettings, AWS: aws})
}

func TestSDKCallersAreAuthenticated(t *testing.T) {
	fake := &fakeAWS{}
	h := newSDKHandler(newKeyStore(), fake)
	read := `{"SecretId":"db"}`
	withToken := func(r *http.Request) *http.Request { r.Header.Set(TokenHeader, testToken); return r }
	other := sigv4.Key{AccessKeyID: "AKIDOTHER", SecretAccessKey: "x", SessionToken: "y"}
	cases := []struct {
		name       string
		req        *http.Request
		wantStatus int
		wantType   string
	}{
		{"signed read", sdkRequest(t, "secretsmanager.GetSecretValue", read, &testKey), 200, ""},
		{"token read", withToken(sdkRequest(t, "secretsmanager.GetSecretValue", read, nil)), 200, ""},
		{"neither", sdkRequest(t, "secretsmanager.GetSecretValue", read, nil), 403, "MissingAuthenticationTokenException"},
		{"wrong token", func() *http.Request {
			r := sdkRequest(t, "secretsmanager.GetSecretValue", read, nil)
			r.Header.Set(TokenHeader, "wrong")
			return r
		}(), 403, "MissingAuthenticationTokenException"},
		{"other credentials", sdkRequest(t, "secretsmanager.GetSecretValue", read, &other), 403, "UnrecognizedClientException"},
		{"other credentials, with the token too", withToken(sdkRequest(t, "secretsmanager.GetSecretValue", read, &other)), 403, "UnrecognizedClientException"},
		{"token write", withToken(sdkRequest(t, "secretsmanager.PutSecretValue", `{"SecretId":"db","SecretString":"x"}`, nil)), 403, "AccessDeniedException"},
		{"signed write", sdkRequest(t, "secretsmanager.PutSecretValue", `{"SecretId":"db","SecretString":"x"}`, &testKey), 200, ""},
		{"forwarded by a proxy", func() *http.Request {
			r := sdkRequest(t, "secretsmanager.GetSecretValue", read, &testKey)
			r.Header.Set("X-Forwarded-For", "10.0.0.1")
			return r
		}(), 400, "AccessDeniedException"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w, e := serveSDK(h, c.req)
			if w.Code != c.wantStatus || e.Type != c.wantType {
				t.Fatalf("status %d, __type %q; want %d, %q\n%s", w.Code, e.Type, c.wantStatus, c.wantType, w.Body)
			}
			if w.Header().Get("X-Amzn-Requestid") == "" {
				t.Error("no x-amzn-RequestId")
			}
		})
	}
	if len(fake.forwarded) != 1 || fake.forwarded[0].Target != "secretsmanager.PutSecretValue" || fake.forwarded[0].Region != "us-east-1" {
		t.Fatalf("forwarded %+v, want the one signed write", fake.forwarded)
	}
	if fake.renewals != 2 {
		t.Errorf("%d credential renewals for two requests with unknown keys, want a try each (rate-limited by upstream)", fake.renewals)
	}
}

func TestSDKGetSecretValueAnswersAsTheService(t *testing.T) {
	store := newKeyStore()
	store.secrets["db"].CreatedDate = time.Date(2026, 1, 2, 3, 4, 5, 678e6, time.UTC)
	h := newSDKHandler(store, &fakeAWS{})
	w, _ := serveSDK(h, sdkRequest(t, "secretsmanager.GetSecretValue", `{"SecretId":"db"}`, &testKey))
	want := `{"ARN":"arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf","Name":"db","VersionId":"v1",` +
		`"SecretString":"{\"password\":\"hunter2\"}","VersionStages":["AWSCURRENT"],"CreatedDate":1767323045.678}`
	if w.Code != 200 || w.Body.String() != want || w.Header().Get("Content-Type") != "application/x-amz-json-1.1" {
		t.Fatalf("%d %s\n%s\nwant %s", w.Code, w.Header(), w.Body, want)
	}
}

func TestSDKRefusesBadInputWithTheServiceShape(t *testing.T) {
	h := newSDKHandler(newKeyStore(), &fakeAWS{})
	cases := []struct {
		name, target, contentType, body string
		wantStatus                      int
		wantType                        string
	}{
		{"unknown service", "dynamodb.GetItem", "", `{}`, 400, "UnknownOperationException"},
		{"no target", "", "", `{}`, 400, "UnknownOperationException"},
		{"wrong content type", "secretsmanager.GetSecretValue", "application/json", `{"SecretId":"db"}`, 400, "SerializationException"},
		{"malformed JSON", "secretsmanager.GetSecretValue", "", `{"SecretId":`, 400, "SerializationException"},
		{"wrong member type", "secretsmanager.GetSecretValue", "", `{"SecretId":5}`, 400, "SerializationException"},
		{"two values", "secretsmanager.GetSecretValue", "", `{"SecretId":"db"}{}`, 400, "SerializationException"},
		{"no SecretId", "secretsmanager.GetSecretValue", "", `{}`, 400, "ValidationException"},
		{"empty SecretId", "secretsmanager.GetSecretValue", "", `{"SecretId":""}`, 400, "ValidationException"},
		{"too many names", "AmazonSSM.GetParameters", "", `{"Names":["a","b","c","d","e","f","g","h","i","j","k"]}`, 400, "ValidationException"},
		{"page too large", "AmazonSSM.GetParametersByPath", "", `{"Path":"/a","MaxResults":11}`, 400, "ValidationException"},
		{"reference in GetParameters", "AmazonSSM.GetParameters", "", `{"Names":["/aws/reference/secretsmanager/db"]}`, 400, "ValidationException"},
		{"too many secrets", "secretsmanager.BatchGetSecretValue", "", `{"SecretIdList":["1","2","3","4","5","6","7","8","9","10","11","12","13","14","15","16","17","18","19","20","21"]}`, 400, "ValidationException"},
		{"missing secret", "secretsmanager.GetSecretValue", "", `{"SecretId":"nope"}`, 400, "ResourceNotFoundException"},
		{"body over 1 MiB", "secretsmanager.PutSecretValue", "", `{"SecretString":"` + strings.Repeat("x", 1<<20) + `"}`, 413, "RequestEntityTooLargeException"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := sdkRequest(t, c.target, c.body, nil)
			r.Header.Set(TokenHeader, testToken)
			if c.contentType != "" {
				r.Header.Set("Content-Type", c.contentType)
			}
			w, e := serveSDK(h, r)
			if w.Code != c.wantStatus || e.Type != c.wantType || e.Message == "" {
				t.Fatalf("status %d, %+v; want %d %s", w.Code, e, c.wantStatus, c.wantType)
			}
			if strings.Contains(w.Body.String(), "hunter2") {
				t.Fatal("an error answer holds a secret value")
			}
		})
	}
}

func TestSDKAllowListKeepsTheWholeSecret(t *testing.T) {
	fake := &fakeAWS{}
	h := newSDKHandler(newKeyStore(), fake, "STARFLEET")
	for _, c := range []struct{ target, body string }{
		{"secretsmanager.GetSecretValue", `{"SecretId":"Starfleet"}`},
		{"secretsmanager.GetSecretValue", `{"SecretId":"arn:aws:secretsmanager:us-east-1:123456789012:secret:Starfleet"}`},
		{"secretsmanager.BatchGetSecretValue", `{"Filters":[{"Key":"name","Values":["Star"]}]}`},
	} {
		w, e := serveSDK(h, sdkRequest(t, c.target, c.body, &testKey))
		if e.Type != "AccessDeniedException" || strings.Contains(w.Body.String(), "SecretString") {
			t.Errorf("%s %s: %d %s, want AccessDeniedException", c.target, c.body, w.Code, w.Body)
		}
	}
	w, _ := serveSDK(h, sdkRequest(t, "secretsmanager.BatchGetSecretValue", `{"SecretIdList":["db","Starfleet"]}`, &testKey))
	var batch struct {
		SecretValues []struct{ Name string }
		Errors       []struct{ SecretId, ErrorCode string }
	}
	json.Unmarshal(w.Body.Bytes(), &batch)
	if len(batch.SecretValues) != 1 || batch.SecretValues[0].Name != "db" || len(batch.Errors) != 1 || batch.Errors[0].ErrorCode != "AccessDeniedException" {
		t.Errorf("BatchGetSecretValue of db and the Starfleet secret: %s", w.Body)
	}
	if len(fake.forwarded) != 0 {
		t.Errorf("forwarded %+v", fake.forwarded)
	}
}

func TestSDKWriteInvalidates(t *testing.T) {
	store := &invalidatingStore{keyStore: newKeyStore()}
	h := newSDKHandler(store, &fakeAWS{})
	serveSDK(h, sdkRequest(t, "secretsmanager.DescribeSecret", `{"SecretId":"db"}`, &testKey))
	if len(store.stale) != 0 {
		t.Fatal("a read invalidated the cache")
	}
	serveSDK(h, sdkRequest(t, "secretsmanager.PutSecretValue", `{"SecretId":"db","SecretString":"x"}`, &testKey))
	if len(store.stale) != 1 {
		t.Fatalf("%d invalidations after a write, want 1", len(store.stale))
	}
}

// TestSDKAllowListForwardsNoRead: a read the cache would pass on because it
// names a member the extension does not know is refused, not forwarded,
// when an allow-list is set: its answer could hold the whole secret.
func TestSDKAllowListForwardsNoRead(t *testing.T) {
	fake := &fakeAWS{}
	h := newSDKHandler(newKeyStore(), fake, "STARFLEET")
	w, e := serveSDK(h, sdkRequest(t, "secretsmanager.GetSecretValue", `{"SecretId":"Starfleet","NewMember":true}`, &testKey))
	if e.Type != "AccessDeniedException" || len(fake.forwarded) != 0 {
		t.Fatalf("%d %s; forwarded %+v", w.Code, w.Body, fake.forwarded)
	}
	h = newSDKHandler(newKeyStore(), fake)
	serveSDK(h, sdkRequest(t, "secretsmanager.GetSecretValue", `{"SecretId":"db","NewMember":true}`, &testKey))
	if len(fake.forwarded) != 1 {
		t.Fatalf("without an allow-list, a read with a member the extension does not know was not passed on: %+v", fake.forwarded)
	}
}
