package upstream

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/smithy-go"

	"github.com/starfleet/starfleet-secrets/item"
	"github.com/starfleet/starfleet-secrets/upstream/awsconfig"
)

// answering is a Secrets Manager and Parameter Store stand-in that answers
// every request with status, header and body, and keeps the last request.
type answering struct {
	status int
	header http.Header
	body   string

	request *http.Request
	sent    []byte
}

func (a *answering) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.request = r
	a.sent, _ = io.ReadAll(r.Body)
	for k, v := range a.header {
		w.Header()[k] = v
	}
	w.WriteHeader(a.status)
	io.WriteString(w, a.body)
}

// TestGetSecretValueRequestAndAnswer: the request is Secrets Manager's
// JSON protocol, signed for the service and the region, naming only the
// fields set; the answer's fields, its timestamp and its base64 binary
// read back.
func TestGetSecretValueRequestAndAnswer(t *testing.T) {
	srv := &answering{status: 200, body: `{"ARN":"arn:aws:secretsmanager:us-east-1:123456789012:secret:S-AbCdEf","Name":"S",
		"VersionId":"v1","VersionStages":["AWSCURRENT"],"CreatedDate":1.523477145713E9,"SecretBinary":"AAEC/w=="}`}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	sm := NewSecretsManager(clientsAt(t, hs.URL))

	v, err := sm.GetSecretValue(t.Context(), item.SecretKey{ID: "S", VersionStage: "AWSCURRENT"})
	if err != nil {
		t.Fatal(err)
	}
	want := time.Date(2018, 4, 11, 20, 5, 45, 713e6, time.UTC)
	if v.ARN != "arn:aws:secretsmanager:us-east-1:123456789012:secret:S-AbCdEf" || v.Name != "S" || v.VersionID != "v1" ||
		len(v.VersionStages) != 1 || !v.CreatedDate.Equal(want) || string(v.Binary) != "\x00\x01\x02\xff" || v.Text != nil {
		t.Errorf("read %+v", v)
	}
	r := srv.request
	if got := r.Header.Get("X-Amz-Target"); got != "secretsmanager.GetSecretValue" {
		t.Errorf("X-Amz-Target %q", got)
	}
	if got := r.Header.Get("Content-Type"); got != "application/x-amz-json-1.1" {
		t.Errorf("Content-Type %q", got)
	}
	if got := r.Header.Get("Authorization"); !strings.Contains(got, "/us-east-1/secretsmanager/aws4_request") {
		t.Errorf("Authorization %q, want a signature for secretsmanager in us-east-1", got)
	}
	if got := r.Header.Get("User-Agent"); got != defaultUserAgent {
		t.Errorf("User-Agent %q", got)
	}
	var sent map[string]any
	if err := json.Unmarshal(srv.sent, &sent); err != nil || len(sent) != 2 || sent["SecretId"] != "S" || sent["VersionStage"] != "AWSCURRENT" {
		t.Errorf("sent %s (%v), want SecretId and VersionStage only", srv.sent, err)
	}
}

// TestParameterStoreRequests: each operation names its target and fields
// as Parameter Store's JSON protocol spells them.
func TestParameterStoreRequests(t *testing.T) {
	srv := &answering{status: 200}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	ps := NewParameterStore(clientsAt(t, hs.URL))

	srv.body = `{"Parameter":{"Name":"/a","Value":"x","Version":3,"Type":"SecureString","DataType":"text","Selector":":3","LastModifiedDate":1700000000.5}}`
	v, err := ps.GetParameter(t.Context(), item.ParameterKey{Name: "/a:3", WithDecryption: true})
	if err != nil || string(v.Text) != "x" || v.VersionID != "3" || v.Parameter.Type != "SecureString" || v.Parameter.Selector != ":3" ||
		!v.Parameter.Decrypted || !v.CreatedDate.Equal(time.UnixMilli(1700000000500)) {
		t.Errorf("GetParameter: %+v %v", v, err)
	}
	checkSent(t, srv, "AmazonSSM.GetParameter", `{"Name":"/a:3","WithDecryption":true}`)

	srv.body = `{"Parameters":[{"Name":"/a","Value":"1","Version":1},{"Name":"/b","Selector":":2","Value":"2","Version":2}],"InvalidParameters":["/c"]}`
	keys := []item.ParameterKey{{Name: "/a"}, {Name: "/b:2"}, {Name: "/c"}}
	found, err := ps.GetParameters(t.Context(), keys)
	if err != nil || len(found) != 2 || string(found[keys[0]].Text) != "1" || string(found[keys[1]].Text) != "2" {
		t.Errorf("GetParameters: %v %v", found, err)
	}
	checkSent(t, srv, "AmazonSSM.GetParameters", `{"Names":["/a","/b:2","/c"],"WithDecryption":false}`)

	srv.body = `{"Parameters":[{"Name":"/p/a","Value":"1"}],"NextToken":"t2"}`
	page, err := ps.GetParametersByPath(t.Context(), item.PathKey{Path: "/p", Recursive: true, PageSize: 5, PageToken: "t1"})
	if err != nil || len(page.Parameters) != 1 || page.NextToken != "t2" || page.Parameters[0].Name != "/p/a" {
		t.Errorf("GetParametersByPath: %+v %v", page, err)
	}
	checkSent(t, srv, "AmazonSSM.GetParametersByPath", `{"Path":"/p","Recursive":true,"WithDecryption":false,"MaxResults":5,"NextToken":"t1"}`)

	// An answer without the parameter asked for is not a parameter.
	srv.body = `{}`
	_, err = ps.GetParameter(t.Context(), item.ParameterKey{Name: "/a"})
	if uerr := Classify("", err); uerr == nil || uerr.Code != item.CodeInvalidResponse {
		t.Errorf("an answer without its parameter: %v", err)
	}
}

func checkSent(t *testing.T, srv *answering, target, body string) {
	t.Helper()
	if got := srv.request.Header.Get("X-Amz-Target"); got != target {
		t.Errorf("X-Amz-Target %q, want %q", got, target)
	}
	if !strings.Contains(srv.request.Header.Get("Authorization"), "/us-east-1/ssm/aws4_request") {
		t.Errorf("%s signed %q, want for ssm in us-east-1", target, srv.request.Header.Get("Authorization"))
	}
	if string(srv.sent) != body {
		t.Errorf("%s sent %s, want %s", target, srv.sent, body)
	}
}

// TestAnswersAWSNamesAsErrors: the errors AWS names in the JSON protocol
// are read as the SDK reads them, with their status and request id, and
// a server's failure is transient.
func TestAnswersAWSNamesAsErrors(t *testing.T) {
	srv := &answering{}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	sm := NewSecretsManager(clientsAt(t, hs.URL))
	for _, tc := range []struct {
		status    int
		header    http.Header
		body      string
		code, msg string
		transient bool
	}{
		{400, nil, `{"__type":"com.amazonaws.secretsmanager#ResourceNotFoundException","Message":"Secrets Manager can't find the specified secret."}`,
			"ResourceNotFoundException", "Secrets Manager can't find the specified secret.", false},
		{400, nil, `{"__type":"AccessDeniedException:http://internal.amazon.com/coral/com.amazon.coral.service/","message":"denied"}`,
			"AccessDeniedException", "denied", false},
		{400, http.Header{"X-Amzn-Errortype": {"ThrottlingException"}}, ``, "ThrottlingException", "ThrottlingException", true},
		{500, nil, `{"__type":"InternalServiceError","message":"oops"}`, "InternalServiceError", "oops", true},
		{503, nil, `{}`, "UnknownError", "UnknownError", true},
	} {
		srv.status, srv.header, srv.body = tc.status, tc.header, tc.body
		if srv.header == nil {
			srv.header = http.Header{}
		}
		srv.header.Set("X-Amzn-Requestid", "req-1")
		_, err := sm.GetSecretValue(t.Context(), item.SecretKey{ID: "S"})
		uerr := Classify("", err)
		if uerr == nil || uerr.Code != tc.code || uerr.Err.Error() != tc.msg || uerr.Transient != tc.transient ||
			uerr.Status != tc.status || uerr.RequestID != "req-1" {
			t.Errorf("%d %s: %+v", tc.status, tc.body, uerr)
		}
	}
}

// TestUndecodableAnswersKeepTheirBodyOut: an answer that cannot be read is
// an invalid response, and nothing of it (it may be a damaged secret)
// reaches the error.
func TestUndecodableAnswersKeepTheirBodyOut(t *testing.T) {
	const secret = "hunter2-do-not-log"
	for _, tc := range []struct {
		status int
		body   string
	}{
		{200, `{"SecretString":"` + secret},
		{200, `{"SecretString":` + secret + `}`},
		{200, `{"CreatedDate":"` + secret + `"}`},
		{200, `["` + secret + `"]`},
		{502, `<html>` + secret + `</html>`},
		{200, `{"SecretString":"` + strings.Repeat("x", maxReadAnswer) + `"}`},
	} {
		err := decodeAnswer(awsconfig.SecretsManager, exchange{resp: &http.Response{StatusCode: tc.status, Header: http.Header{}}, answer: []byte(tc.body)}, new(struct {
			SecretString string
			CreatedDate  epochSeconds
		}))
		uerr := Classify(item.ServiceSecretsManager, err)
		if uerr == nil || uerr.Code != item.CodeInvalidResponse || !uerr.Transient {
			t.Errorf("%d %.40s: %+v", tc.status, tc.body, uerr)
		}
		if strings.Contains(uerr.Error(), secret) || strings.Contains(err.Error(), secret) {
			t.Errorf("%d %.40s: the error quotes the answer: %v", tc.status, tc.body, err)
		}
	}
}

func TestEpochSeconds(t *testing.T) {
	for in, want := range map[string]time.Time{
		`1.523477145713E9`: time.UnixMilli(1523477145713).UTC(),
		`1700000000`:       time.Unix(1700000000, 0).UTC(),
		`0.0015`:           time.UnixMilli(2).UTC(),
		`null`:             {},
	} {
		var got epochSeconds
		if err := json.Unmarshal([]byte(in), &got); err != nil || !got.Equal(want) {
			t.Errorf("%s: %v %v, want %v", in, got.Time, err, want)
		}
	}
	for _, in := range []string{`"2020-01-01T00:00:00Z"`, `true`, `1e300`, `{}`} {
		var got epochSeconds
		if err := json.Unmarshal([]byte(in), &got); err == nil {
			t.Errorf("%s read as %v", in, got.Time)
		}
	}
}

// TestErrorCodesLoseNamespaceAndDetail: codes read bare, as the SDK's
// sanitizer makes them.
func TestErrorCodesLoseNamespaceAndDetail(t *testing.T) {
	for in, want := range map[string]string{
		"ResourceNotFoundException":                          "ResourceNotFoundException",
		"com.amazonaws.secretsmanager#DecryptionFailure":     "DecryptionFailure",
		"ThrottlingException:http://internal.amazon.com/x":   "ThrottlingException",
		"aws.protocoltests#FooError:http://internal.amazon/": "FooError",
		"": "",
	} {
		apiErr, ok := jsonError(400, "", []byte(`{"__type":"`+in+`"}`))
		if want == "" {
			want = "UnknownError"
		}
		if !ok || apiErr.Code != want {
			t.Errorf("%q: %+v, want %q", in, apiErr, want)
		}
	}
}

// FuzzDecodeAnswer: no answer makes decoding panic; an error AWS names
// has a bare code; and a success that cannot be read never puts any of
// its body in the error.
func FuzzDecodeAnswer(f *testing.F) {
	f.Add(200, []byte(`{"ARN":"a","SecretString":"s","CreatedDate":1.5e9,"SecretBinary":"AAE="}`))
	f.Add(400, []byte(`{"__type":"a.b#ResourceNotFoundException:http://x","message":"m"}`))
	f.Add(500, []byte(`<html>`))
	f.Add(200, []byte(`{"Parameter":{"Version":"x"}}`))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		var out struct {
			SecretString *string
			SecretBinary []byte
			CreatedDate  epochSeconds
			Parameter    *parameter
		}
		err := decodeAnswer(awsconfig.ParameterStore, exchange{resp: &http.Response{StatusCode: status, Header: http.Header{}}, answer: body}, &out)
		if err == nil {
			return
		}
		var apiErr smithy.APIError
		if status >= 200 && status <= 299 {
			if len(body) > 3 && bytes.Contains([]byte(err.Error()), body) {
				t.Fatalf("the error %q quotes the answer", err)
			}
			return
		}
		// The SDK's sanitizer drops the detail after the first ':' and the
		// namespace before the first '#'.
		if errors.As(err, &apiErr) && (strings.Contains(apiErr.ErrorCode(), ":") ||
			bytes.Count(body, []byte("#")) < 2 && strings.Contains(apiErr.ErrorCode(), "#")) {
			t.Fatalf("code %q keeps its namespace or detail", apiErr.ErrorCode())
		}
	})
}

// TestUserAgentNamesTheVersion: the product token the program sets is the
// one every request carries, for CloudTrail.
func TestUserAgentNamesTheVersion(t *testing.T) {
	srv := &answering{status: 200, body: `{"Name":"S","SecretString":"x"}`}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	setenvFor(t, hs.URL)
	a, err := awsconfig.LoadAWS(t.Context(), os.LookupEnv, nil)
	if err != nil {
		t.Fatal(err)
	}
	a.UserAgent = "starfleet-secrets/v1.2.3"
	c, err := NewClients(a, "", "test")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewSecretsManager(c).GetSecretValue(t.Context(), item.SecretKey{ID: "S"}); err != nil {
		t.Fatal(err)
	}
	if got := srv.request.Header.Get("User-Agent"); got != "starfleet-secrets/v1.2.3" {
		t.Errorf("User-Agent %q, want the program's", got)
	}
}
