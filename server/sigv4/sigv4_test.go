package sigv4

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

var testKey = Key{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", SessionToken: "session-token-1"}

// signedRequest is a request as an SDK sends it, signed by the AWS SDK
// for Go v2's own signer at signedAt with key, for service in region.
type signedRequest struct {
	key              Key
	service, region  string
	signedAt         time.Time
	body             string
	mutateBeforeSign func(*http.Request)
	mutateAfterSign  func(*http.Request)
}

// receive sends r to a real HTTP server and returns what Verify said
// of the request that server received, at now.
func (s signedRequest) receive(t *testing.T, now time.Time, expect Key, service string) (string, error) {
	t.Helper()
	var region string
	var verr error
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		sig, err := Parse(r.Header.Get("Authorization"))
		if err != nil {
			verr = err
			return
		}
		region, verr = sig.Verify(r, body, expect, service, now)
	}))
	defer srv.Close()
	req, err := http.NewRequest(http.MethodPost, srv.URL+"/", strings.NewReader(s.body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "secretsmanager.GetSecretValue")
	if s.key.SessionToken != "" {
		req.Header.Set("X-Amz-Security-Token", s.key.SessionToken)
	}
	if s.mutateBeforeSign != nil {
		s.mutateBeforeSign(req)
	}
	sum := sha256.Sum256([]byte(s.body))
	creds := aws.Credentials{AccessKeyID: s.key.AccessKeyID, SecretAccessKey: s.key.SecretAccessKey, SessionToken: s.key.SessionToken}
	if err := v4.NewSigner().SignHTTP(t.Context(), creds, req, hex.EncodeToString(sum[:]), s.service, s.region, s.signedAt); err != nil {
		t.Fatal(err)
	}
	if s.mutateAfterSign != nil {
		s.mutateAfterSign(req)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return region, verr
}

func TestVerifySigV4(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	good := signedRequest{key: testKey, service: "secretsmanager", region: "eu-west-1", signedAt: now, body: `{"SecretId":"db"}`}
	cases := []struct {
		name     string
		req      func(signedRequest) signedRequest
		wantCode string // "" accepts
	}{
		{"signed by the SDK's own signer", func(s signedRequest) signedRequest { return s }, ""},
		{"four minutes of skew", func(s signedRequest) signedRequest { s.signedAt = now.Add(-4 * time.Minute); return s }, ""},
		{"an extra signed header", func(s signedRequest) signedRequest {
			s.mutateBeforeSign = func(r *http.Request) { r.Header.Set("Amz-Sdk-Invocation-Id", "  a   b ") }
			return s
		}, ""},
		{"six minutes old", func(s signedRequest) signedRequest { s.signedAt = now.Add(-6 * time.Minute); return s }, "InvalidSignatureException"},
		{"six minutes ahead", func(s signedRequest) signedRequest { s.signedAt = now.Add(6 * time.Minute); return s }, "InvalidSignatureException"},
		{"other access key", func(s signedRequest) signedRequest { s.key.AccessKeyID = "AKIDOTHER"; return s }, "UnrecognizedClientException"},
		{"other secret key", func(s signedRequest) signedRequest { s.key.SecretAccessKey = "other"; return s }, "InvalidSignatureException"},
		{"other session token", func(s signedRequest) signedRequest { s.key.SessionToken = "session-token-2"; return s }, "UnrecognizedClientException"},
		{"no session token", func(s signedRequest) signedRequest { s.key.SessionToken = ""; return s }, "UnrecognizedClientException"},
		{"scoped to another service", func(s signedRequest) signedRequest { s.service = "ssm"; return s }, "InvalidSignatureException"},
		{"body changed after signing", func(s signedRequest) signedRequest {
			s.mutateAfterSign = func(r *http.Request) {
				r.Body = io.NopCloser(strings.NewReader(`{"SecretId":"Starfleet"}`))
				r.ContentLength = int64(len(`{"SecretId":"Starfleet"}`))
			}
			return s
		}, "InvalidSignatureException"},
		{"operation changed after signing", func(s signedRequest) signedRequest {
			s.mutateAfterSign = func(r *http.Request) { r.Header.Set("X-Amz-Target", "secretsmanager.DeleteSecret") }
			return s
		}, "InvalidSignatureException"},
		{"target not signed", func(s signedRequest) signedRequest {
			s.mutateBeforeSign = func(r *http.Request) { r.Header.Del("X-Amz-Target") }
			s.mutateAfterSign = func(r *http.Request) { r.Header.Set("X-Amz-Target", "secretsmanager.GetSecretValue") }
			return s
		}, "InvalidSignatureException"},
		{"payload hash header that lies", func(s signedRequest) signedRequest {
			s.mutateAfterSign = func(r *http.Request) { r.Header.Set("X-Amz-Content-Sha256", strings.Repeat("0", 64)) }
			return s
		}, "InvalidSignatureException"},
		{"query added after signing", func(s signedRequest) signedRequest {
			s.mutateAfterSign = func(r *http.Request) { r.URL.RawQuery = "a=b" }
			return s
		}, "InvalidSignatureException"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			region, err := c.req(good).receive(t, now, testKey, "secretsmanager")
			switch {
			case c.wantCode == "" && (err != nil || region != "eu-west-1"):
				t.Fatalf("refused a valid signature: region %q, %v", region, err)
			case c.wantCode == "":
			case err == nil:
				t.Fatalf("accepted; want %s", c.wantCode)
			case err.(*Error).Code != c.wantCode:
				t.Fatalf("refused with %v; want %s", err, c.wantCode)
			}
		})
	}
}

func TestVerifySigV4LongTermKeys(t *testing.T) {
	now := time.Now().UTC()
	key := Key{AccessKeyID: "AKIDLONGTERM", SecretAccessKey: "secret"}
	s := signedRequest{key: key, service: "ssm", region: "us-east-1", signedAt: now, body: `{}`}
	if _, err := s.receive(t, now, key, "ssm"); err != nil {
		t.Fatalf("keys without a session token: %v", err)
	}
	s.mutateAfterSign = func(r *http.Request) { r.Header.Set("X-Amz-Security-Token", "added") }
	if _, err := s.receive(t, now, key, "ssm"); err == nil {
		t.Fatal("accepted a session token the credentials do not have")
	}
}

func TestParseAuthorization(t *testing.T) {
	sig := strings.Repeat("ab", 32)
	for _, h := range []string{
		"",
		"AWS4-HMAC-SHA1 Credential=A/20261203/us-east-1/ssm/aws4_request, SignedHeaders=host, Signature=" + sig,
		"AWS4-HMAC-SHA256 Credential=A/20261203/us-east-1/ssm, SignedHeaders=host, Signature=" + sig,
		"AWS4-HMAC-SHA256 Credential=A/20261203/US_EAST/ssm/aws4_request, SignedHeaders=host, Signature=" + sig,
		"AWS4-HMAC-SHA256 Credential=A/20261203/us-east-1/ssm/aws4_request, SignedHeaders=x;host, Signature=" + sig,
		"AWS4-HMAC-SHA256 Credential=A/20261203/us-east-1/ssm/aws4_request, SignedHeaders=host;host, Signature=" + sig,
		"AWS4-HMAC-SHA256 Credential=A/20261203/us-east-1/ssm/aws4_request, SignedHeaders=host, Signature=zz",
	} {
		if _, err := Parse(h); err == nil {
			t.Errorf("Parse(%q) accepted", h)
		}
	}
	got, err := Parse("AWS4-HMAC-SHA256 Credential=AKID/20261203/us-east-1/ssm/aws4_request,SignedHeaders=host;x-amz-date,Signature=" + sig)
	if err != nil || got.accessKeyID != "AKID" || got.region != "us-east-1" || got.service != "ssm" || len(got.signedHeaders) != 2 || !bytes.Equal(got.signature, bytes.Repeat([]byte{0xab}, 32)) {
		t.Fatalf("Parse = %+v, %v", got, err)
	}
}
