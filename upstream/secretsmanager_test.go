package upstream

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/starfleet/starfleet-secrets/item"
	"github.com/starfleet/starfleet-secrets/upstream/awsconfig"
	"github.com/starfleet/starfleet-secrets/upstream/upstreamtest"
)

var moto *upstreamtest.Moto

func TestMain(m *testing.M) {
	os.Exit(upstreamtest.RunWithMoto(m, &moto))
}

// smThroughProxy returns a source that reaches moto through a fresh proxy,
// configured the way the binary is: from the environment.
func smThroughProxy(t *testing.T) (*SecretsManager, *upstreamtest.Proxy) {
	t.Helper()
	if err := moto.Reset(t.Context()); err != nil {
		t.Fatal(err)
	}
	proxy := upstreamtest.NewProxy(moto.URL())
	t.Cleanup(proxy.Close)
	return NewSecretsManager(clientsAt(t, proxy.URL())), proxy
}

// clientsAt are clients configured from the environment, as the binary's
// are, reading from Secrets Manager and Parameter Store at url.
func clientsAt(t *testing.T, url string) *Clients {
	t.Helper()
	setenvFor(t, url)
	return clientsFromEnv(t)
}

// clientsFromEnv are the clients the test's environment configures.
func clientsFromEnv(t *testing.T) *Clients {
	t.Helper()
	a, err := awsconfig.LoadAWS(t.Context(), os.LookupEnv, nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewClients(a, "", "test")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// setenvFor sets the test's environment to upstreamtest.Env(url).
func setenvFor(t *testing.T, url string) {
	t.Helper()
	for _, kv := range upstreamtest.Env(url) {
		k, v, _ := cutEnv(kv)
		t.Setenv(k, v)
	}
}

func cutEnv(kv string) (string, string, bool) {
	for i := range kv {
		if kv[i] == '=' {
			return kv[:i], kv[i+1:], true
		}
	}
	return kv, "", false
}

func createSecret(t *testing.T, name string, in secretsmanager.CreateSecretInput) *secretsmanager.CreateSecretOutput {
	t.Helper()
	in.Name = aws.String(name)
	out, err := upstreamtest.Client(moto.URL()).CreateSecret(t.Context(), &in)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestSecretsManagerSource(t *testing.T) {
	src, _ := smThroughProxy(t)
	created := createSecret(t, "Starfleet", secretsmanager.CreateSecretInput{SecretString: aws.String(`{"A":1}`)})
	createSecret(t, "bin", secretsmanager.CreateSecretInput{SecretBinary: []byte{0, 1, 2, 255}})
	put, err := upstreamtest.Client(moto.URL()).PutSecretValue(t.Context(), &secretsmanager.PutSecretValueInput{
		SecretId: aws.String("Starfleet"), SecretString: aws.String(`{"A":2}`),
	})
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		key     item.SecretKey
		want    string
		version string
	}{
		{item.SecretKey{ID: "Starfleet"}, `{"A":2}`, *put.VersionId},
		{item.SecretKey{ID: "Starfleet", VersionStage: "AWSPREVIOUS"}, `{"A":1}`, *created.VersionId},
		{item.SecretKey{ID: "Starfleet", VersionID: *created.VersionId}, `{"A":1}`, *created.VersionId},
		{item.SecretKey{ID: *created.ARN}, `{"A":2}`, *put.VersionId},
	}
	for _, tt := range tests {
		sec, err := src.GetSecretValue(t.Context(), tt.key)
		if err != nil {
			t.Fatalf("%+v: %v", tt.key, err)
		}
		if string(sec.Text) != tt.want || sec.VersionID != tt.version || sec.Name != "Starfleet" || sec.ARN != *created.ARN || sec.Binary != nil {
			t.Errorf("%+v: got %+v", tt.key, sec)
		}
	}
	sec, err := src.GetSecretValue(t.Context(), item.SecretKey{ID: "bin"})
	if err != nil || string(sec.Binary) != "\x00\x01\x02\xff" || sec.Text != nil {
		t.Errorf("binary secret: %+v %v", sec, err)
	}
	_, err = src.GetSecretValue(t.Context(), item.SecretKey{ID: "missing"})
	if uerr := Classify("", err); uerr == nil || uerr.Code != "ResourceNotFoundException" || uerr.Transient {
		t.Errorf("missing secret: %v", err)
	}
}

func TestSecretsManagerRetriesTransientFailures(t *testing.T) {
	src, proxy := smThroughProxy(t)
	createSecret(t, "Starfleet", secretsmanager.CreateSecretInput{SecretString: aws.String(`{}`)})

	proxy.SetFaultN("GetSecretValue", upstreamtest.InternalError, 2)
	if _, err := src.GetSecretValue(t.Context(), item.SecretKey{ID: "Starfleet"}); err != nil {
		t.Fatalf("two 500s then success: %v", err)
	}
	if n := proxy.Count("GetSecretValue"); n != MaxAttempts {
		t.Errorf("calls = %d, want %d", n, MaxAttempts)
	}

	// A persistent fault is reported as itself, even when the deadline is
	// too short for every retry: never as a bare timeout.
	proxy.ResetCounts()
	proxy.SetFault("GetSecretValue", upstreamtest.Throttle)
	ctx, cancel := context.WithTimeout(t.Context(), 120*time.Millisecond)
	defer cancel()
	_, err := src.GetSecretValue(ctx, item.SecretKey{ID: "Starfleet"})
	if uerr := Classify("", err); uerr.Code != "ThrottlingException" || !uerr.Transient {
		t.Errorf("persistent throttling reported as %v", err)
	}

	// A permanent failure is not retried.
	proxy.ResetCounts()
	proxy.SetFault("GetSecretValue", upstreamtest.AccessDenied)
	_, err = src.GetSecretValue(t.Context(), item.SecretKey{ID: "Starfleet"})
	if uerr := Classify("", err); uerr.Code != "AccessDeniedException" || uerr.Transient {
		t.Errorf("access denied reported as %v", err)
	}
	if n := proxy.Count("GetSecretValue"); n != 1 {
		t.Errorf("AccessDenied retried: %d calls", n)
	}
}

func TestClassifyFaults(t *testing.T) {
	src, proxy := smThroughProxy(t)
	createSecret(t, "Starfleet", secretsmanager.CreateSecretInput{SecretString: aws.String(`{}`)})
	tests := []struct {
		fault     upstreamtest.Fault
		code      string
		transient bool
	}{
		{upstreamtest.Throttle, "ThrottlingException", true},
		{upstreamtest.InternalError, "InternalServiceError", true},
		{upstreamtest.Reset, item.CodeConnection, true},
		{upstreamtest.Garbage, item.CodeInvalidResponse, true},
		{upstreamtest.AccessDenied, "AccessDeniedException", false},
		{upstreamtest.NotFound, "ResourceNotFoundException", false},
	}
	for _, tt := range tests {
		proxy.SetFault("GetSecretValue", tt.fault)
		_, err := src.GetSecretValue(t.Context(), item.SecretKey{ID: "Starfleet"})
		uerr := Classify("", err)
		if uerr == nil || uerr.Code != tt.code || uerr.Transient != tt.transient {
			t.Errorf("%v: classified %+v (%v)", tt.fault, uerr, err)
		}
	}
	proxy.SetFault("GetSecretValue", upstreamtest.Slow)
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	_, err := src.GetSecretValue(ctx, item.SecretKey{ID: "Starfleet"})
	if uerr := Classify("", err); uerr.Code != item.CodeTimeout || !uerr.Transient {
		t.Errorf("slow answer classified %+v", uerr)
	}
	proxy.Release("GetSecretValue")
}

// TestRetryPauseIsTheSDKs: the pause before a retry is the SDK's
// standard backoff, full jitter under a base of 50 ms, or of a second after
// throttling, stretched to the service's X-Amz-Retry-After but never by
// more than five seconds.
func TestRetryPauseIsTheSDKs(t *testing.T) {
	c := clientsAt(t, "http://127.0.0.1:1")
	answer := func(status int, code string, header http.Header) error {
		resp := &http.Response{StatusCode: status, Header: header}
		return &awshttp.ResponseError{ResponseError: &smithyhttp.ResponseError{
			Response: &smithyhttp.Response{Response: resp}, Err: &smithy.GenericAPIError{Code: code}}}
	}
	for _, tc := range []struct {
		err      error
		attempt  int
		min, max time.Duration
	}{
		{answer(500, "InternalServiceError", http.Header{}), 1, 0, 50 * time.Millisecond},
		{answer(500, "InternalServiceError", http.Header{}), 2, 0, 100 * time.Millisecond},
		{answer(400, "ThrottlingException", http.Header{}), 1, 0, time.Second},
		{answer(400, "ThrottlingException", http.Header{}), 2, 0, 2 * time.Second},
		{answer(503, "ServiceUnavailable", http.Header{"X-Amz-Retry-After": {"1500"}}), 1, 1500 * time.Millisecond, 1500 * time.Millisecond},
		{answer(503, "ServiceUnavailable", http.Header{"X-Amz-Retry-After": {"60000"}}), 1, 5 * time.Second, 5050 * time.Millisecond},
	} {
		for range 20 {
			if got, ok := c.retryPause(tc.attempt, tc.err); !ok || got < tc.min || got >= tc.max+time.Nanosecond {
				t.Errorf("after %v, attempt %d: %v, want in [%v, %v]", tc.err, tc.attempt, got, tc.min, tc.max)
				break
			}
		}
	}
}

func TestFileSource(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.json")
	os.WriteFile(path, []byte(`{"A":1}`), 0o600)
	src := NewFile(path, "Starfleet")
	a, err := src.GetSecretValue(t.Context(), item.SecretKey{ID: "Starfleet"})
	if err != nil || string(a.Text) != `{"A":1}` || a.Name != "Starfleet" {
		t.Fatalf("%+v %v", a, err)
	}
	again, _ := src.GetSecretValue(t.Context(), item.SecretKey{ID: "Starfleet", VersionID: a.VersionID})
	if again == nil || again.VersionID != a.VersionID {
		t.Error("same content, different version")
	}
	os.WriteFile(path, []byte(`{"A":2}`), 0o600)
	b, _ := src.GetSecretValue(t.Context(), item.SecretKey{ID: "Starfleet"})
	if b.VersionID == a.VersionID {
		t.Error("edited file kept its version id")
	}
	for _, k := range []item.SecretKey{{ID: "Other"}, {ID: "Starfleet", VersionStage: "AWSPENDING"}, {ID: "Starfleet", VersionID: a.VersionID}} {
		_, err := src.GetSecretValue(t.Context(), k)
		var uerr *item.Error
		if !errors.As(err, &uerr) || uerr.Code != item.CodeNotFound {
			t.Errorf("%+v: %v", k, err)
		}
	}
	os.Remove(path)
	_, err = src.GetSecretValue(t.Context(), item.SecretKey{ID: "Starfleet"})
	if uerr := Classify("", err); uerr.Code != item.CodeFileUnreadable {
		t.Errorf("missing file: %v", err)
	}
}

// TestExpiredCredentialsAreRenewedOnce: an ExpiredToken answer renews the
// role's credentials (one more AssumeRole) and retries once; a second one
// is reported as itself.
func TestExpiredCredentialsAreRenewedOnce(t *testing.T) {
	src, proxy := smThroughProxy(t)
	createSecret(t, "Starfleet", secretsmanager.CreateSecretInput{SecretString: aws.String(`{}`)})
	key := item.SecretKey{ID: "Starfleet", Scope: item.Scope{RoleARN: "arn:aws:iam::123456789012:role/reader"}}
	if _, err := src.GetSecretValue(t.Context(), key); err != nil {
		t.Fatal(err)
	}
	proxy.ResetCounts()
	proxy.SetFaultN("GetSecretValue", upstreamtest.ExpiredToken, 1)
	if _, err := src.GetSecretValue(t.Context(), key); err != nil {
		t.Fatalf("one expired token, then renewed: %v", err)
	}
	if a, g := proxy.Count("AssumeRole"), proxy.Count("GetSecretValue"); a != 1 || g != 2 {
		t.Errorf("%d AssumeRole and %d GetSecretValue calls, want 1 and 2", a, g)
	}
	proxy.ResetCounts()
	proxy.SetFault("GetSecretValue", upstreamtest.ExpiredToken)
	_, err := src.GetSecretValue(t.Context(), key)
	if uerr := Classify("", err); uerr.Code != "ExpiredTokenException" {
		t.Errorf("a token that stays expired reported as %v", err)
	}
	if a, g := proxy.Count("AssumeRole"), proxy.Count("GetSecretValue"); a != 1 || g != 2 {
		t.Errorf("%d AssumeRole and %d GetSecretValue calls, want 1 and 2: renewed once, retried once", a, g)
	}
}

// TestBatchGetSecretValueReadsAsTheSDK: the extension's own
// BatchGetSecretValue answers what the SDK's client decodes from the same
// call, value by value and error by error, a binary secret and an ARN
// included; one call in all.
func TestBatchGetSecretValueReadsAsTheSDK(t *testing.T) {
	src, proxy := smThroughProxy(t)
	a := createSecret(t, "Starfleet/GitHubSyncWorker", secretsmanager.CreateSecretInput{SecretString: aws.String(`{"org":"k"}`)})
	createSecret(t, "Starfleet/STARFLEET", secretsmanager.CreateSecretInput{SecretString: aws.String(`{"SlackToken":"x"}`)})
	createSecret(t, "Starfleet/bin", secretsmanager.CreateSecretInput{SecretBinary: []byte{0, 1, 255}})
	ids := []string{"Starfleet/STARFLEET", *a.ARN, "Starfleet/bin", "Starfleet/missing"}
	var keys []item.SecretKey
	for _, id := range ids {
		keys = append(keys, item.SecretKey{ID: id})
	}
	found, failed, err := src.BatchGetSecretValue(t.Context(), keys)
	if err != nil {
		t.Fatal(err)
	}
	if n := proxy.Count("BatchGetSecretValue"); n != 1 {
		t.Errorf("%d calls, want 1", n)
	}
	sdk, err := upstreamtest.Client(moto.URL()).BatchGetSecretValue(t.Context(), &secretsmanager.BatchGetSecretValueInput{SecretIdList: ids})
	if err != nil {
		t.Fatal(err)
	}
	if len(found)+len(failed) != len(ids) || len(found) != len(sdk.SecretValues) || len(failed) != len(sdk.Errors) {
		t.Fatalf("found %d and failed %d of %d; the SDK %d and %d", len(found), len(failed), len(ids), len(sdk.SecretValues), len(sdk.Errors))
	}
	for _, want := range sdk.SecretValues {
		var got *item.Value
		for _, v := range found {
			if v.Name == aws.ToString(want.Name) {
				got = v
			}
		}
		if got == nil || got.ARN != aws.ToString(want.ARN) || got.VersionID != aws.ToString(want.VersionId) ||
			!slices.Equal(got.VersionStages, want.VersionStages) || !got.CreatedDate.Equal(aws.ToTime(want.CreatedDate)) ||
			string(got.Text) != aws.ToString(want.SecretString) || !bytes.Equal(got.Binary, want.SecretBinary) {
			t.Errorf("%s: got %+v, the SDK %+v", aws.ToString(want.Name), got, want)
		}
	}
	for _, want := range sdk.Errors {
		if got := failed[item.SecretKey{ID: aws.ToString(want.SecretId)}]; got == nil || got.Code != aws.ToString(want.ErrorCode) || got.Transient {
			t.Errorf("%s: got %v, the SDK %s", aws.ToString(want.SecretId), got, aws.ToString(want.ErrorCode))
		}
	}
	if _, _, err := src.BatchGetSecretValue(t.Context(), []item.SecretKey{{ID: "a"}, {ID: "b", VersionStage: "AWSPREVIOUS"}}); err == nil {
		t.Error("a batch with a key of another stage was sent")
	}
}
