package server

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/starfleet/starfleet-secrets/server/sigv4"
)

// FuzzSDKRequest: whatever target, body and signature a caller sends, the
// SDK's protocol answers in the services' error shape or with a value,
// never a panic or a 5xx of its own, and never forwards what it could not
// authenticate.
func FuzzSDKRequest(f *testing.F) {
	for _, c := range [][3]string{
		{"secretsmanager.GetSecretValue", `{"SecretId":"db"}`, ""},
		{"secretsmanager.GetSecretValue", `{"SecretId":"db","VersionStage":"AWSPREVIOUS"}`, ""},
		{"secretsmanager.BatchGetSecretValue", `{"SecretIdList":["db","nope"]}`, ""},
		{"secretsmanager.BatchGetSecretValue", `{"Filters":[{"Key":"name","Values":["a"]}]}`, ""},
		{"secretsmanager.PutSecretValue", `{"SecretId":"db","SecretString":"x"}`, ""},
		{"AmazonSSM.GetParameter", `{"Name":"/a","WithDecryption":true}`, ""},
		{"AmazonSSM.GetParameters", `{"Names":["/a","/b"]}`, ""},
		{"AmazonSSM.GetParametersByPath", `{"Path":"/a","MaxResults":2,"NextToken":"t"}`, ""},
		{"AmazonSSM.GetParametersByPath", `{"Path":"/a","ParameterFilters":[]}`, ""},
		{"secretsmanager.GetSecretValue", `{"SecretId":`, ""},
		{"secretsmanager.GetSecretValue", `[]`, ""},
		{"secretsmanager.GetSecretValue", `{"SecretId":null}`, ""},
		{"secretsmanager.GetSecretValue", `{"SecretId":"db","Extra":1}`, ""},
		{"secretsmanager.", `{}`, ""},
		{".GetSecretValue", `{}`, ""},
		{"secretsmanager.GetSecretValue", `{"SecretId":"db"}`, "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261203/us-east-1/secretsmanager/aws4_request, SignedHeaders=host;x-amz-date;x-amz-target, Signature=" + strings.Repeat("0", 64)},
		{"secretsmanager.GetSecretValue", `{"SecretId":"db"}`, "AWS4-HMAC-SHA256 Credential=//////, SignedHeaders=;;, Signature=zz"},
		{"AmazonSSM.GetParameter", `{"Name":"\u0000"}`, "AWS4-HMAC-SHA256"},
	} {
		f.Add(c[0], c[1], c[2], true)
	}
	fake := &fakeAWS{}
	h := newSDKHandler(newKeyStore(), fake)
	f.Fuzz(func(t *testing.T, target, body, authorization string, token bool) {
		r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-amz-json-1.1")
		r.Header.Set("X-Amz-Target", target)
		r.Header.Set("X-Amz-Date", now.UTC().Format(sigv4.DateLayout))
		if authorization != "" {
			r.Header.Set("Authorization", authorization)
		}
		if token {
			r.Header.Set(TokenHeader, testToken)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code >= 500 {
			t.Fatalf("status %d: %s", w.Code, w.Body)
		}
		if w.Code != http.StatusOK {
			var e sdkErrorBody
			if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Type == "" || e.Message == "" {
				t.Fatalf("status %d with a body not in the services' error shape: %q", w.Code, w.Body)
			}
		}
		if strings.Contains(w.Body.String(), "hunter2") && !(w.Code == 200 && strings.Contains(target, "Get")) {
			t.Fatalf("a secret value in an answer to %q: %s", target, w.Body)
		}
		if len(fake.forwarded) > 0 {
			t.Fatalf("forwarded a request no signature authenticated: %+v", fake.forwarded)
		}
	})
}
