package sigv4

import (
	"bufio"
	"net/http"
	"strings"
	"testing"
	"time"
)

// FuzzSigV4: no Authorization header, however malformed, panics the
// parser or the check, and none is accepted without the secret key.
func FuzzSigV4(f *testing.F) {
	for _, s := range []string{
		"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261203/us-east-1/secretsmanager/aws4_request, SignedHeaders=host;x-amz-date;x-amz-target, Signature=" + strings.Repeat("ab", 32),
		"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261203/us-east-1/secretsmanager/aws4_request,SignedHeaders=content-length;host;x-amz-date;x-amz-security-token;x-amz-target,Signature=" + strings.Repeat("0", 64),
		"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261203//secretsmanager/aws4_request, SignedHeaders=host, Signature=",
		"AWS4-HMAC-SHA256 ,,,,", "AWS4-HMAC-SHA256 Credential==, SignedHeaders==, Signature==", "Bearer x", "",
	} {
		f.Add(s, "20261203T120000Z", `{"SecretId":"db"}`, "/", "a=b&c")
	}
	f.Fuzz(func(t *testing.T, authorization, amzDate, body, path, query string) {
		sig, err := Parse(authorization)
		if err != nil {
			return
		}
		raw := "POST / HTTP/1.1\r\nHost: 127.0.0.1:2773\r\nX-Amz-Target: secretsmanager.GetSecretValue\r\n\r\n"
		r, perr := http.ReadRequest(bufio.NewReader(strings.NewReader(raw)))
		if perr != nil {
			t.Fatal(perr)
		}
		r.URL.Path, r.URL.RawQuery = path, query
		r.Header.Set("X-Amz-Date", amzDate)
		r.Header.Set("X-Amz-Security-Token", testKey.SessionToken)
		at := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
		if _, err := sig.Verify(r, []byte(body), testKey, "secretsmanager", at); err == nil {
			t.Fatalf("accepted a signature made without the secret key: %q", authorization)
		}
	})
}
