package upstream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/smithy-go"

	"github.com/starfleet/starfleet-secrets/item"
	"github.com/starfleet/starfleet-secrets/upstream/awsconfig"
	"github.com/starfleet/starfleet-secrets/upstream/upstreamtest"
)

// The extension speaks Secrets Manager's, Parameter Store's and STS's
// protocols itself; these tests hold it to the SDK's clients, which the
// shipped binary does not link, on every case the SDK knows.

// errorCase is one answer of the error corpus.
type errorCase struct {
	name   string
	status int
	header http.Header
	body   string
	// cut, when set, sends body under a Content-Length larger than it,
	// then ends the connection: "eof" closes it, "reset" resets it.
	cut string
}

// errorCorpus is every kind of failed answer the extension has to read
// as the SDK does.
func errorCorpus(serverClock func() time.Time) []errorCase {
	h := func(kv ...string) http.Header {
		header := http.Header{}
		for i := 0; i < len(kv); i += 2 {
			header.Set(kv[i], kv[i+1])
		}
		return header
	}
	html := `<html><head><title>502 Bad Gateway</title></head><body>` + strings.Repeat("x", 200) + `</body></html>`
	return []errorCase{
		{"namespaced __type", 400, nil, `{"__type":"com.amazonaws.secretsmanager#ResourceNotFoundException","Message":"Secrets Manager can't find the specified secret."}`, ""},
		{"bare __type", 400, nil, `{"__type":"ResourceNotFoundException","message":"not here"}`, ""},
		{"colon-suffixed __type", 400, nil, `{"__type":"AccessDeniedException:http://internal.amazon.com/coral/com.amazon.coral.service/","message":"denied"}`, ""},
		{"two namespaces", 400, nil, `{"__type":"a#b#InvalidRequestException","message":"m"}`, ""},
		{"header only", 400, h("X-Amzn-Errortype", "ThrottlingException:http://internal.amazon.com/coral/"), ``, ""},
		{"header over body", 400, h("X-Amzn-Errortype", "ThrottlingException"), `{"__type":"ValidationException","message":"Rate exceeded"}`, ""},
		{"code member", 400, nil, `{"code":"InvalidRequestException","message":"m"}`, ""},
		{"numeric code", 400, nil, `{"code":5,"message":"m"}`, ""},
		// The SDK reads a member named in any case for an error its model
		// does not name; a modeled one only "message" and "Message".
		{"MESSAGE in capitals", 400, nil, `{"__type":"UnmodeledException","MESSAGE":"shouting"}`, ""},
		{"null body", 400, nil, `null`, ""},
		{"array body", 400, nil, `[1,2]`, ""},
		{"trailing text", 400, nil, `{"__type":"InvalidRequestException","message":"m"} trailing`, ""},
		{"empty 500", 500, nil, ``, ""},
		{"empty 503", 503, nil, `{}`, ""},
		{"500 InternalServiceError", 500, nil, `{"__type":"InternalServiceError","message":"oops"}`, ""},
		{"501", 501, nil, `{"__type":"NotImplemented","message":"no"}`, ""},
		{"HTML 502", 502, h("Content-Type", "text/html"), html, ""},
		{"HTML 504", 504, h("Content-Type", "text/html"), html, ""},
		{"HTML 403", 403, h("Content-Type", "text/html"), html, ""},
		{"HTML 429", 429, h("Content-Type", "text/html"), html, ""},
		{"429 TooManyRequests", 429, nil, `{"__type":"TooManyRequestsException","message":"slow down"}`, ""},
		{"throttling", 400, nil, `{"__type":"ThrottlingException","message":"Rate exceeded"}`, ""},
		{"request timeout", 400, nil, `{"__type":"RequestTimeoutException","message":"late"}`, ""},
		{"expired token", 400, nil, `{"__type":"ExpiredTokenException","message":"The security token included in the request is expired"}`, ""},
		{"bad signature, clocks agree", 400, h("Date", serverClock().Add(-15*time.Minute).UTC().Format(http.TimeFormat)),
			`{"__type":"InvalidSignatureException","message":"The request signature we calculated does not match"}`, ""},
		{"clock skew", 400, h("Date", serverClock().UTC().Format(http.TimeFormat)),
			`{"__type":"InvalidSignatureException","message":"Signature expired: 20261207T050000Z is now earlier than 20261207T051000Z (20261207T051500Z - 5 min.)"}`, ""},
		{"clock skew behind a cache", 400, h("Date", serverClock().UTC().Format(http.TimeFormat), "Age", "3"),
			`{"__type":"InvalidSignatureException","message":"Signature expired"}`, ""},
		{"truncated 200", 200, nil, `{"ARN":"arn:aws:secretsmanager:us-east-1:1:secret:S","Name":`, ""},
		{"200 cut short", 200, nil, `{"ARN":"arn:aws:secretsmanager:us-east-1:1:secret:S",`, "eof"},
		{"200 reset mid-answer", 200, nil, `{"ARN":"arn:aws:secretsmanager:us-east-1:1:secret:S",`, "reset"},
		{"200 not JSON", 200, h("Content-Type", "text/html"), html, ""},
	}
}

// corpusServer answers each request with the case *current names.
func corpusServer(t *testing.T, current *atomic.Pointer[errorCase]) *httptest.Server {
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := current.Load()
		if c.cut != "" {
			// Read whole, so that closing sends no reset of its own.
			io.Copy(io.Discard, r.Body)
			conn, buf, err := w.(http.Hijacker).Hijack()
			if err != nil {
				return
			}
			if c.cut == "reset" {
				conn.(*net.TCPConn).SetLinger(0)
			}
			fmt.Fprintf(buf, "HTTP/1.1 %d OK\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: %d\r\n\r\n%s", c.status, len(c.body)+100, c.body)
			buf.Flush()
			conn.Close()
			return
		}
		for k, v := range c.header {
			w.Header()[k] = v
		}
		w.Header().Set("X-Amzn-Requestid", "req-"+strings.ReplaceAll(c.name, " ", "-"))
		w.WriteHeader(c.status)
		w.Write([]byte(c.body))
	}))
	t.Cleanup(hs.Close)
	return hs
}

// sdkVerdict is what an SDK client's error says: its code and message if
// AWS named one, whether the standard retryer retries it, its status and
// request id.
type sdkVerdict struct {
	named     bool
	code, msg string
	retryable bool
	status    int
	requestID string
}

func verdictOf(err error) sdkVerdict {
	var v sdkVerdict
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		v.named, v.code, v.msg = true, apiErr.ErrorCode(), apiErr.ErrorMessage()
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		v.status, v.requestID = re.HTTPStatusCode(), re.ServiceRequestID()
	}
	v.retryable = retry.NewStandard().IsErrorRetryable(err)
	return v
}

// TestErrorsReadAsTheSDKReadsThem: every answer of the error corpus, read
// by the SDK's Secrets Manager and Systems Manager clients (without
// retries) and by the extension (one attempt), names the same code and
// message, with the same status and request id, and gets the same retry
// decision; an answer the SDK cannot read is the extension's
// InvalidResponse, quoting nothing of the body. Where AWS wrote no message,
// the SDK's is "UnknownError" or the code (whether its model names the
// error), and the extension's the code.
func TestErrorsReadAsTheSDKReadsThem(t *testing.T) {
	serverAhead := func() time.Time { return time.Now().Add(15 * time.Minute) }
	var current atomic.Pointer[errorCase]
	hs := corpusServer(t, &current)
	for _, c := range errorCorpus(serverAhead) {
		current.Store(&c)
		creds := credentials.NewStaticCredentialsProvider(upstreamtest.AccessKeyID, upstreamtest.SecretAccessKey, "")
		cfg := aws.Config{Region: upstreamtest.Region, Credentials: creds, BaseEndpoint: aws.String(hs.URL), HTTPClient: http.DefaultClient}
		noRetries := func(o *secretsmanager.Options) { o.Retryer = aws.NopRetryer{} }
		_, smErr := secretsmanager.NewFromConfig(cfg, noRetries).GetSecretValue(t.Context(),
			&secretsmanager.GetSecretValueInput{SecretId: aws.String("S"), VersionStage: aws.String("AWSCURRENT")})
		_, ssmErr := ssm.NewFromConfig(cfg, func(o *ssm.Options) { o.Retryer = aws.NopRetryer{} }).GetParameter(t.Context(),
			&ssm.GetParameterInput{Name: aws.String("/p")})
		for _, tc := range []struct {
			s      awsconfig.Service
			op     string
			in     any
			sdkErr error
		}{
			{awsconfig.SecretsManager, "GetSecretValue", map[string]string{"SecretId": "S", "VersionStage": "AWSCURRENT"}, smErr},
			{awsconfig.ParameterStore, "GetParameter", map[string]string{"Name": "/p"}, ssmErr},
		} {
			clients := clientsAt(t, hs.URL)
			var out struct{ ARN, Name string }
			ours := clients.call(t.Context(), tc.s, route{region: upstreamtest.Region}, tc.op, tc.in, &out)
			if tc.sdkErr == nil || ours == nil {
				t.Errorf("%s, %s: the SDK's error %v, ours %v: want both to fail", c.name, tc.s.Name, tc.sdkErr, ours)
				continue
			}
			want := verdictOf(tc.sdkErr)
			got := Classify(tc.s.Name, ours)
			if got.Retryable != want.retryable {
				t.Errorf("%s, %s: retried %t; the SDK's retryer %t (its error: %v)", c.name, tc.s.Name, got.Retryable, want.retryable, tc.sdkErr)
			}
			if !want.named {
				if got.Code != item.CodeInvalidResponse && got.Code != item.CodeConnection {
					t.Errorf("%s, %s: code %s; the SDK could not read the answer (%v), want %s", c.name, tc.s.Name, got.Code, tc.sdkErr, item.CodeInvalidResponse)
				}
				if len(c.body) > 10 && strings.Contains(got.Error(), c.body) {
					t.Errorf("%s, %s: the error quotes the answer: %v", c.name, tc.s.Name, got)
				}
				continue
			}
			wantMsg := want.msg
			if wantMsg == "UnknownError" || wantMsg == want.code {
				wantMsg = got.Code // AWS wrote none
			}
			if got.Code != want.code || got.Err.Error() != wantMsg || got.Status != want.status || got.RequestID != want.requestID {
				t.Errorf("%s, %s: %s %q (HTTP %d, %s); the SDK reads %s %q (HTTP %d, %s)", c.name, tc.s.Name,
					got.Code, got.Err, got.Status, got.RequestID, want.code, want.msg, want.status, want.requestID)
			}
		}
	}
}

// skewedAWS is a Secrets Manager stand-in whose clock runs ahead of this
// host's: it refuses a request signed more than five minutes off its
// clock, as AWS does, and answers its Date; a request without
// X-Amz-Target is STS's AssumeRole.
type skewedAWS struct {
	ahead time.Duration
	calls atomic.Int32
}

func (s *skewedAWS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.calls.Add(1)
	now := time.Now().Add(s.ahead)
	w.Header().Set("Date", now.UTC().Format(http.TimeFormat))
	signed, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	isSTS := r.Header.Get("X-Amz-Target") == ""
	if err != nil || (now.Sub(signed)).Abs() > 5*time.Minute {
		if isSTS {
			w.WriteHeader(403)
			fmt.Fprintf(w, `<ErrorResponse><Error><Type>Sender</Type><Code>SignatureDoesNotMatch</Code><Message>Signature expired</Message></Error><RequestId>r</RequestId></ErrorResponse>`)
			return
		}
		w.WriteHeader(400)
		fmt.Fprintf(w, `{"__type":"InvalidSignatureException","message":"Signature expired: %s is now earlier than %s (%s - 5 min.)"}`,
			r.Header.Get("X-Amz-Date"), now.Add(-5*time.Minute).UTC().Format("20060102T150405Z"), now.UTC().Format("20060102T150405Z"))
		return
	}
	if isSTS {
		fmt.Fprintf(w, `<AssumeRoleResponse><AssumeRoleResult><Credentials><AccessKeyId>ASIAROLE</AccessKeyId><SecretAccessKey>s</SecretAccessKey>`+
			`<SessionToken>t</SessionToken><Expiration>%s</Expiration></Credentials></AssumeRoleResult></AssumeRoleResponse>`,
			time.Now().Add(time.Hour).UTC().Format(time.RFC3339))
		return
	}
	w.Write([]byte(`{"ARN":"arn:aws:secretsmanager:us-east-1:1:secret:S","Name":"S","VersionId":"v1","SecretString":"{}"}`))
}

// TestClockSkewIsCorrected: with AWS's clock 15 minutes ahead of this
// host's, the first read is refused, retried signed by the skew the
// refusal's Date showed, and succeeds; later reads, and AssumeRole, are
// signed right the first time. The SDK's own client, against the same
// stand-in, does the same.
func TestClockSkewIsCorrected(t *testing.T) {
	for _, ahead := range []time.Duration{15 * time.Minute, -15 * time.Minute} {
		aws_ := &skewedAWS{ahead: ahead}
		hs := httptest.NewServer(aws_)
		sm := NewSecretsManager(clientsAt(t, hs.URL))
		if _, err := sm.GetSecretValue(t.Context(), item.SecretKey{ID: "S"}); err != nil {
			t.Fatalf("AWS %v off: the first read: %v", ahead, err)
		}
		if n := aws_.calls.Load(); n != 2 {
			t.Errorf("AWS %v off: the first read made %d calls, want 2: refused, then signed by the skew", ahead, n)
		}
		aws_.calls.Store(0)
		key := item.SecretKey{ID: "S", Scope: item.Scope{RoleARN: "arn:aws:iam::111122223333:role/reader"}}
		if _, err := sm.GetSecretValue(t.Context(), key); err != nil {
			t.Fatalf("AWS %v off: a read under a role: %v", ahead, err)
		}
		if n := aws_.calls.Load(); n != 2 {
			t.Errorf("AWS %v off: AssumeRole and the read made %d calls, want 2, each signed right", ahead, n)
		}

		aws_.calls.Store(0)
		cfg := aws.Config{Region: upstreamtest.Region, BaseEndpoint: aws.String(hs.URL),
			Credentials: credentials.NewStaticCredentialsProvider(upstreamtest.AccessKeyID, upstreamtest.SecretAccessKey, "")}
		if _, err := secretsmanager.NewFromConfig(cfg).GetSecretValue(context.Background(),
			&secretsmanager.GetSecretValueInput{SecretId: aws.String("S")}); err != nil || aws_.calls.Load() != 2 {
			t.Errorf("AWS %v off: the SDK's client: %v after %d calls; the stand-in is not what the SDK corrects", ahead, err, aws_.calls.Load())
		}
		hs.Close()
	}
}

// TestSkewOnlyFromTrustedAnswers: an answer without Date, one a cache
// served, or one that took too long says nothing of the clocks.
func TestSkewOnlyFromTrustedAnswers(t *testing.T) {
	now := time.Date(2026, 12, 7, 5, 0, 0, 0, time.UTC)
	date := now.Add(20 * time.Minute).Format(http.TimeFormat)
	for _, tc := range []struct {
		header http.Header
		took   time.Duration
		ok     bool
	}{
		{http.Header{"Date": {date}}, time.Second, true},
		{http.Header{}, time.Second, false},
		{http.Header{"Date": {"yesterday"}}, time.Second, false},
		{http.Header{"Date": {date}, "Age": {"1"}}, time.Second, false},
		{http.Header{"Date": {date}}, 16 * time.Minute, false},
	} {
		var s clockSkew
		skew, ok := s.observe(tc.header, now.Add(-tc.took), now)
		if ok != tc.ok || ok && skew != 20*time.Minute || !ok && s.get() != 0 {
			t.Errorf("%v after %v: skew %v, %t; want %t", tc.header, tc.took, skew, ok, tc.ok)
		}
	}
}

// TestRetryBudgetRunsOut: a throttled account gets fewer retries, not
// more: once the shared token bucket is spent, a failure is answered
// without retrying, as the SDK's standard retryer does.
func TestRetryBudgetRunsOut(t *testing.T) {
	var calls atomic.Int32
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.WriteHeader(500)
		w.Write([]byte(`{"__type":"InternalServiceError","message":"down"}`))
	}))
	defer hs.Close()
	c := clientsAt(t, hs.URL)
	sm := NewSecretsManager(c)
	// 500 tokens, 14 a retry: 35 retries in all.
	for range 30 {
		sm.GetSecretValue(t.Context(), item.SecretKey{ID: "S"})
	}
	if n := calls.Load(); n != 30+35 {
		t.Errorf("30 failing reads made %d calls; want each read's first and the 35 retries the budget pays for", n)
	}
}
