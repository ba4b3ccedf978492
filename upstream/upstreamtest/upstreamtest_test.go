package upstreamtest_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/starfleet/starfleet-secrets/upstream/upstreamtest"
)

var moto *upstreamtest.Moto

func TestMain(m *testing.M) { os.Exit(upstreamtest.RunWithMoto(m, &moto)) }

const gsv = "GetSecretValue"

func noRetries(o *secretsmanager.Options) { o.RetryMaxAttempts = 1 }

// setup resets moto, creates secret name=value directly in moto, and returns
// a proxy in front of moto plus a client going through it (retries off).
func setup(t *testing.T, name, value string) (*upstreamtest.Proxy, *secretsmanager.Client) {
	t.Helper()
	ctx := t.Context()
	if err := moto.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	if name != "" {
		_, err := upstreamtest.Client(moto.URL()).CreateSecret(ctx, &secretsmanager.CreateSecretInput{
			Name: aws.String(name), SecretString: aws.String(value),
		})
		if err != nil {
			t.Fatalf("CreateSecret: %v", err)
		}
	}
	p := upstreamtest.NewProxy(moto.URL())
	t.Cleanup(p.Close)
	return p, upstreamtest.Client(p.URL(), noRetries)
}

func getValue(ctx context.Context, c *secretsmanager.Client, name string) (string, error) {
	out, err := c.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{
		SecretId: aws.String(name), VersionStage: aws.String("AWSCURRENT"),
	})
	if err != nil {
		return "", err
	}
	return aws.ToString(out.SecretString), nil
}

func TestGetSecretValueThroughProxy(t *testing.T) {
	p, c := setup(t, "db/password", "hunter2")
	got, err := getValue(t.Context(), c, "db/password")
	if err != nil {
		t.Fatal(err)
	}
	if got != "hunter2" {
		t.Errorf("value = %q, want hunter2", got)
	}
	if n := p.Count(gsv); n != 1 {
		t.Errorf("Count(%s) = %d, want 1", gsv, n)
	}
	if n := p.CountSecret(gsv, "db/password"); n != 1 {
		t.Errorf("CountSecret = %d, want 1", n)
	}
	if n := p.Count("CreateSecret"); n != 0 {
		t.Errorf("Count(CreateSecret) = %d, want 0 (setup went to moto directly)", n)
	}
	if n := p.Count(""); n != 1 {
		t.Errorf("Count(\"\") = %d, want 1", n)
	}
	p.ResetCounts()
	if n := p.Count(gsv); n != 0 {
		t.Errorf("after ResetCounts, Count = %d", n)
	}
}

func TestFaults(t *testing.T) {
	tests := []struct {
		fault  upstreamtest.Fault
		code   string // API error code, "" if not an API error
		status int
		check  func(error) bool // for non-API errors
	}{
		{fault: upstreamtest.Throttle, code: "ThrottlingException", status: 400},
		{fault: upstreamtest.InternalError, code: "InternalServiceError", status: 500},
		{fault: upstreamtest.AccessDenied, code: "AccessDeniedException", status: 400},
		{fault: upstreamtest.NotFound, code: "ResourceNotFoundException", status: 400},
		{fault: upstreamtest.Garbage, check: func(err error) bool {
			var de *smithy.DeserializationError
			return errors.As(err, &de)
		}},
		{fault: upstreamtest.Reset, check: func(err error) bool {
			var se *smithyhttp.RequestSendError
			return errors.As(err, &se)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.fault.String(), func(t *testing.T) {
			p, c := setup(t, "s", "v")
			p.SetFault(gsv, tt.fault)
			_, err := getValue(t.Context(), c, "s")
			if err == nil {
				t.Fatal("GetSecretValue succeeded, want error")
			}
			var apiErr smithy.APIError
			isAPI := errors.As(err, &apiErr)
			if tt.code != "" {
				if !isAPI || apiErr.ErrorCode() != tt.code {
					t.Fatalf("err = %v, want API error code %s", err, tt.code)
				}
				var re *awshttp.ResponseError
				if !errors.As(err, &re) || re.HTTPStatusCode() != tt.status {
					t.Errorf("err = %v, want HTTP status %d", err, tt.status)
				}
				if re != nil && !strings.HasPrefix(re.ServiceRequestID(), "upstreamtest-") {
					t.Errorf("request ID = %q", re.ServiceRequestID())
				}
			} else {
				if isAPI {
					t.Errorf("err = %v is an API error (%s), want none", err, apiErr.ErrorCode())
				}
				if !tt.check(err) {
					t.Errorf("err = %v (%T), wrong kind", err, err)
				}
			}
			if n := p.Count(gsv); n != 1 {
				t.Errorf("Count = %d, want 1", n)
			}

			// Other operations are not affected; clearing restores service.
			if _, err := c.DescribeSecret(t.Context(), &secretsmanager.DescribeSecretInput{SecretId: aws.String("s")}); err != nil {
				t.Errorf("DescribeSecret: %v", err)
			}
			p.SetFault(gsv, upstreamtest.NoFault)
			if _, err := getValue(t.Context(), c, "s"); err != nil {
				t.Errorf("after clearing fault: %v", err)
			}
		})
	}
}

// With the SDK's default retryer (3 attempts), a throttle on every request
// is seen 3 times, and a throttle on the first two is retried into success.
func TestFaultsWithRetries(t *testing.T) {
	p, _ := setup(t, "s", "v")
	c := upstreamtest.Client(p.URL(), func(o *secretsmanager.Options) {
		o.Retryer = retry.NewStandard(func(so *retry.StandardOptions) {
			so.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
		})
	})

	p.SetFault(gsv, upstreamtest.Throttle)
	if _, err := getValue(t.Context(), c, "s"); err == nil {
		t.Fatal("want error")
	}
	if n := p.Count(gsv); n != 3 {
		t.Errorf("permanent throttle: Count = %d, want 3", n)
	}

	p.ResetCounts()
	p.SetFaultN(gsv, upstreamtest.InternalError, 2)
	if got, err := getValue(t.Context(), c, "s"); err != nil || got != "v" {
		t.Fatalf("SetFaultN 2: got %q, %v; want success", got, err)
	}
	if n := p.Count(gsv); n != 3 {
		t.Errorf("SetFaultN 2: Count = %d, want 3", n)
	}
}

func TestFaultPrecedence(t *testing.T) {
	p, c := setup(t, "s", "v")
	code := func() string {
		_, err := getValue(t.Context(), c, "s")
		if err == nil {
			return ""
		}
		var apiErr smithy.APIError
		if errors.As(err, &apiErr) {
			return apiErr.ErrorCode()
		}
		return err.Error()
	}
	p.SetFault("", upstreamtest.AccessDenied)
	if got := code(); got != "AccessDeniedException" {
		t.Errorf("global fault: %q", got)
	}
	if _, err := c.ListSecrets(t.Context(), &secretsmanager.ListSecretsInput{}); err == nil {
		t.Error("global fault: ListSecrets succeeded")
	}
	p.SetFault(gsv, upstreamtest.NotFound)
	if got := code(); got != "ResourceNotFoundException" {
		t.Errorf("op fault over global: %q", got)
	}
	p.SetFault(gsv, upstreamtest.NoFault)
	if got := code(); got != "AccessDeniedException" {
		t.Errorf("op fault cleared, global remains: %q", got)
	}
	p.ClearFaults()
	if got := code(); got != "" {
		t.Errorf("after ClearFaults: %q", got)
	}
	p.SetFaultN(gsv, upstreamtest.Throttle, 1)
	if got := code(); got != "ThrottlingException" {
		t.Errorf("SetFaultN first: %q", got)
	}
	if got := code(); got != "" {
		t.Errorf("SetFaultN second: %q", got)
	}
}

// The cache's thundering-herd scenario: hold the first GetSecretValue in
// flight while 100 concurrent requests arrive.
func TestHoldRelease(t *testing.T) {
	p, c := setup(t, "s", "v")
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()

	p.Hold(gsv)
	const n = 100
	errs := make(chan error, n)
	for range n {
		go func() {
			v, err := getValue(ctx, c, "s")
			if err == nil && v != "v" {
				err = fmt.Errorf("value %q", v)
			}
			errs <- err
		}()
	}
	if err := p.WaitHeld(ctx, gsv, n); err != nil {
		t.Fatal(err)
	}
	if got := p.Count(gsv); got != n {
		t.Errorf("Count = %d, want %d", got, n)
	}
	if got := p.Held(""); got != n {
		t.Errorf("Held(\"\") = %d, want %d", got, n)
	}
	// Other operations pass while GetSecretValue is held.
	if _, err := c.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String("s")}); err != nil {
		t.Errorf("DescribeSecret while holding: %v", err)
	}
	p.Release(gsv)
	for range n {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if got := p.Held(gsv); got != 0 {
		t.Errorf("Held after release = %d", got)
	}
	// Holding stopped: a new request goes straight through.
	if _, err := getValue(ctx, c, "s"); err != nil {
		t.Error(err)
	}
}

func TestSlow(t *testing.T) {
	p, c := setup(t, "s", "v")
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	p.SetFault(gsv, upstreamtest.Slow)

	// Released: forwarded and answered.
	done := make(chan error, 1)
	go func() { _, err := getValue(ctx, c, "s"); done <- err }()
	if err := p.WaitHeld(ctx, gsv, 1); err != nil {
		t.Fatal(err)
	}
	p.Release(gsv)
	if err := <-done; err != nil {
		t.Fatalf("released slow request: %v", err)
	}

	// Slow stays in place; the client gives up.
	reqCtx, reqCancel := context.WithCancel(ctx)
	go func() { _, err := getValue(reqCtx, c, "s"); done <- err }()
	if err := p.WaitHeld(ctx, gsv, 1); err != nil {
		t.Fatal(err)
	}
	reqCancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("abandoned slow request: err = %v, want context.Canceled", err)
	}
	if got := p.Count(gsv); got != 2 {
		t.Errorf("Count = %d, want 2", got)
	}
}

func TestCloseReleasesHeld(t *testing.T) {
	p, c := setup(t, "s", "v")
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	p.Hold("")
	p.SetFault("DescribeSecret", upstreamtest.Slow)
	var wg sync.WaitGroup
	errs := make([]error, 2)
	wg.Go(func() { _, errs[0] = getValue(ctx, c, "s") })
	wg.Go(func() {
		_, errs[1] = c.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String("s")})
	})
	if err := p.WaitHeld(ctx, "", 2); err != nil {
		t.Fatal(err)
	}
	p.Close() // must not hang
	wg.Wait()
	for i, err := range errs {
		if err == nil {
			t.Errorf("request %d succeeded after Close", i)
		}
	}
	p.Close() // idempotent
}

func TestWaitCount(t *testing.T) {
	p, c := setup(t, "s", "v")

	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if err := p.WaitCount(ctx, gsv, 1); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("WaitCount with nothing arriving: err = %v, want DeadlineExceeded", err)
	}
	canceled, cancel2 := context.WithCancel(t.Context())
	cancel2()
	if err := p.WaitCount(canceled, gsv, 1); !errors.Is(err, context.Canceled) {
		t.Errorf("WaitCount with canceled ctx: err = %v", err)
	}

	ctx, cancel = context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	done := make(chan error, 3)
	for range 3 {
		go func() { _, err := getValue(ctx, c, "s"); done <- err }()
	}
	if err := p.WaitCount(ctx, gsv, 3); err != nil {
		t.Fatal(err)
	}
	if err := p.WaitCount(ctx, gsv, 0); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}

func TestMotoReset(t *testing.T) {
	ctx := t.Context()
	c := upstreamtest.Client(moto.URL())
	if err := moto.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("gone"), SecretString: aws.String("x")}); err != nil {
		t.Fatal(err)
	}
	if _, err := getValue(ctx, c, "gone"); err != nil {
		t.Fatal(err)
	}
	if err := moto.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	_, err := getValue(ctx, c, "gone")
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "ResourceNotFoundException" {
		t.Fatalf("after Reset: err = %v, want ResourceNotFoundException", err)
	}
	out, err := c.ListSecrets(ctx, &secretsmanager.ListSecretsInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.SecretList) != 0 {
		t.Errorf("after Reset: %d secrets listed", len(out.SecretList))
	}
}

// Env must be enough for the SDK's default config chain (what the extension
// binary uses) to reach the proxy, ignoring the developer's environment.
func TestEnv(t *testing.T) {
	p, _ := setup(t, "s", "v")
	t.Setenv("HOME", t.TempDir())
	t.Setenv("AWS_PROFILE", "developer-profile-that-does-not-exist")
	t.Setenv("AWS_SESSION_TOKEN", "leaked-token")
	env := upstreamtest.Env(p.URL())
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	for _, want := range []string{"AWS_ENDPOINT_URL_SECRETS_MANAGER=" + p.URL(), "AWS_REGION=us-east-1", "AWS_EC2_METADATA_DISABLED=true", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null"} {
		if !slices.Contains(env, want) {
			t.Errorf("Env lacks %s", want)
		}
	}
	cfg, err := config.LoadDefaultConfig(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if v, err := getValue(t.Context(), secretsmanager.NewFromConfig(cfg), "s"); err != nil || v != "v" {
		t.Fatalf("via Env: %q, %v", v, err)
	}
	if n := p.Count(gsv); n != 1 {
		t.Errorf("Count = %d, want 1 (request did not go through the proxy)", n)
	}
}

func TestStartMotoNotInstalled(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	m, err := upstreamtest.StartMoto(t.Context())
	if err == nil {
		m.Close()
		t.Fatal("StartMoto succeeded without moto_server on PATH")
	}
	if !strings.Contains(err.Error(), "pip install 'moto[server]'") {
		t.Errorf("error does not say how to install moto: %v", err)
	}
}

// A second, independent moto: start, use, close.
func TestStartMotoClose(t *testing.T) {
	m, err := upstreamtest.StartMoto(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if m.URL() == moto.URL() {
		t.Errorf("two motos on the same URL %s", m.URL())
	}
	c := upstreamtest.Client(m.URL())
	if _, err := c.ListSecrets(t.Context(), &secretsmanager.ListSecretsInput{}); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if _, err := c.ListSecrets(ctx, &secretsmanager.ListSecretsInput{}, noRetries); err == nil {
		t.Error("moto still answers after Close")
	}
}
