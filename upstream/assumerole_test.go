package upstream

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/smithy-go"

	"github.com/starfleet/starfleet-secrets/item"
	"github.com/starfleet/starfleet-secrets/upstream/awsconfig"
	"github.com/starfleet/starfleet-secrets/upstream/upstreamtest"
)

// TestAssumeRoleAgainstMoto: the role's credentials, their expiry a
// quarter of an hour on and the role's account, from STS's real protocol
// as moto speaks it.
func TestAssumeRoleAgainstMoto(t *testing.T) {
	if err := moto.Reset(t.Context()); err != nil {
		t.Fatal(err)
	}
	now := time.Now().Round(0)
	a := &assumeRole{
		role: "arn:aws:iam::111122223333:role/reader", session: "fn", region: upstreamtest.Region,
		endpoint: func() (string, error) { return moto.URL(), nil },
		base:     credentials.NewStaticCredentialsProvider(upstreamtest.AccessKeyID, upstreamtest.SecretAccessKey, ""),
		client:   http.DefaultClient,
		now:      func() time.Time { return now },
	}
	creds, err := a.Retrieve(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if creds.AccessKeyID == "" || creds.SecretAccessKey == "" || creds.SessionToken == "" || creds.AccessKeyID == upstreamtest.AccessKeyID {
		t.Errorf("credentials %q, %t, %t: want the role's own", creds.AccessKeyID, creds.SecretAccessKey != "", creds.SessionToken != "")
	}
	if !creds.CanExpire || creds.Expires.Before(now.Add(roleDuration-time.Minute)) || creds.Expires.After(now.Add(roleDuration+time.Minute)) {
		t.Errorf("expires %v (can expire: %t), want about %v", creds.Expires, creds.CanExpire, now.Add(roleDuration))
	}
	if creds.AccountID != "111122223333" {
		t.Errorf("account %q, want the role's", creds.AccountID)
	}
}

// TestAssumedCredentialsFromAnswers: what each kind of answer becomes,
// through Classify as every read's failure goes; no part of an answer that
// is not STS's error message reaches an error.
func TestAssumedCredentialsFromAnswers(t *testing.T) {
	const leak = "wJalrXUtnFEMIK7MDENGbPxRfiCYLEAKED"
	ok := `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleResult>
    <AssumedRoleUser><Arn>arn:aws:sts::444455556666:assumed-role/reader/fn</Arn><AssumedRoleId>AROA:fn</AssumedRoleId></AssumedRoleUser>
    <Credentials>
      <AccessKeyId>ASIAEXAMPLE</AccessKeyId>
      <SecretAccessKey>` + leak + `</SecretAccessKey>
      <SessionToken>FwoG&amp;token+/=</SessionToken>
      <Expiration>2026-12-04T03:15:00Z</Expiration>
    </Credentials>
  </AssumeRoleResult>
  <ResponseMetadata><RequestId>req-1</RequestId></ResponseMetadata>
</AssumeRoleResponse>`
	creds, err := assumedCredentials(exchange{resp: &http.Response{StatusCode: 200, Header: http.Header{}}, answer: []byte(ok)})
	if err != nil {
		t.Fatal(err)
	}
	want := aws.Credentials{AccessKeyID: "ASIAEXAMPLE", SecretAccessKey: leak, SessionToken: "FwoG&token+/=", Source: "AssumeRole",
		CanExpire: true, Expires: time.Date(2026, 12, 4, 3, 15, 0, 0, time.UTC), AccountID: "444455556666"}
	if creds != want {
		t.Errorf("credentials %+v,\nwant %+v", creds, want)
	}

	for _, tc := range []struct {
		name      string
		status    int
		header    http.Header
		body      string
		code      string
		transient bool
		requestID string
	}{
		{"refused", 403, http.Header{"X-Amzn-Requestid": {"req-403"}},
			`<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>User: arn:aws:sts::1:assumed-role/fn is not authorized to perform: sts:AssumeRole</Message></Error><RequestId>body-id</RequestId></ErrorResponse>`,
			"AccessDenied", false, "req-403"},
		{"throttled", 400, http.Header{},
			`<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>body-id</RequestId></ErrorResponse>`,
			"Throttling", true, "body-id"},
		{"STS's own failure", 500, http.Header{},
			`<ErrorResponse><Error><Type>Receiver</Type><Code>InternalFailure</Code></Error></ErrorResponse>`,
			"InternalFailure", true, ""},
		{"a proxy's page", 502, http.Header{}, `<html><body>` + leak + `</body></html>`, item.CodeInvalidResponse, true, ""},
		{"truncated", 200, http.Header{}, ok[:len(ok)/2], item.CodeInvalidResponse, true, ""},
		{"no expiry", 200, http.Header{}, strings.Replace(ok, "2026-12-04T03:15:00Z", "", 1), item.CodeInvalidResponse, true, ""},
		{"too long", 200, http.Header{}, ok + strings.Repeat(" ", maxSTSAnswer), item.CodeInvalidResponse, true, ""},
	} {
		_, err := assumedCredentials(exchange{resp: &http.Response{StatusCode: tc.status, Header: tc.header}, answer: []byte(tc.body)})
		uerr := Classify(item.ServiceSTS, err)
		if uerr == nil || uerr.Code != tc.code || uerr.Transient != tc.transient || uerr.RequestID != tc.requestID {
			t.Errorf("%s: %+v, want code %s, transient %t, request id %q", tc.name, uerr, tc.code, tc.transient, tc.requestID)
			continue
		}
		if strings.Contains(err.Error(), leak) || strings.Contains(uerr.Error(), leak) {
			t.Errorf("%s: the error quotes the answer: %v", tc.name, err)
		}
		if tc.code != item.CodeInvalidResponse && uerr.Status != tc.status {
			t.Errorf("%s: status %d, want %d", tc.name, uerr.Status, tc.status)
		}
	}
}

// TestAssumeRoleIsBounded: a call STS never answers ends, as a timeout
// that a later read may retry, and does not hold the role's credentials.
func TestAssumeRoleIsBounded(t *testing.T) {
	release := make(chan struct{})
	sts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer sts.Close()
	defer close(release)
	a := &assumeRole{
		role: "arn:aws:iam::111122223333:role/reader", session: "fn", region: upstreamtest.Region,
		endpoint: func() (string, error) { return sts.URL, nil },
		base:     credentials.NewStaticCredentialsProvider(upstreamtest.AccessKeyID, upstreamtest.SecretAccessKey, ""),
		client:   http.DefaultClient,
		now:      time.Now,
		timeout:  50 * time.Millisecond,
	}
	_, err := awsconfig.NewRenewing(a, nil).Retrieve(context.WithoutCancel(t.Context()))
	if uerr := Classify(item.ServiceSTS, err); uerr == nil || uerr.Code != item.CodeTimeout || !uerr.Transient {
		t.Errorf("an unanswered AssumeRole: %v, want a transient %s", err, item.CodeTimeout)
	}
}

// TestSTSEndpoint: STS's regional endpoint in each partition, and an
// override over it.
func TestSTSEndpoint(t *testing.T) {
	for region, want := range map[string]string{
		"us-east-1":      "https://sts.us-east-1.amazonaws.com",
		"eu-west-3":      "https://sts.eu-west-3.amazonaws.com",
		"cn-north-1":     "https://sts.cn-north-1.amazonaws.com.cn",
		"us-gov-west-1":  "https://sts.us-gov-west-1.amazonaws.com",
		"us-iso-east-1":  "https://sts.us-iso-east-1.c2s.ic.gov",
		"us-isob-east-1": "https://sts.us-isob-east-1.sc2s.sgov.gov",
	} {
		got, err := awsconfig.EndpointURL(awsconfig.STS, region, nil, awsconfig.Variant{})
		if err != nil || got != want {
			t.Errorf("STS endpoint in %s: %q, %v; want %q", region, got, err, want)
		}
	}
	if got, _ := awsconfig.EndpointURL(awsconfig.STS, "us-east-1", aws.String("http://127.0.0.1:5000"), awsconfig.Variant{}); got != "http://127.0.0.1:5000" {
		t.Errorf("override ignored: %q", got)
	}
	if _, err := awsconfig.EndpointURL(awsconfig.STS, "not a region!", nil, awsconfig.Variant{}); err == nil {
		t.Error("an invalid region resolved")
	}
}

// TestAssumeRoleAnswersDecoding: what XML an answer may hold (a
// declaration, comments, entities, CDATA, a namespace) reads as STS means
// it; a declared entity, a second root or text outside the root is an
// undecodable answer.
func TestAssumeRoleAnswersDecoding(t *testing.T) {
	const creds = `<Credentials><AccessKeyId>ASIA</AccessKeyId><SecretAccessKey>s</SecretAccessKey>` +
		`<SessionToken>%s</SessionToken><Expiration>2026-12-04T03:15:00Z</Expiration></Credentials>`
	for _, tc := range []struct {
		doc, token string // token "": undecodable
	}{
		{"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">" +
			"<!-- c --><AssumeRoleResult>" + strings.Replace(creds, "%s", "a &lt;&amp;&gt; &quot;&apos; &#65;&#x42;<![CDATA[<raw>]]>", 1) +
			"</AssumeRoleResult></AssumeRoleResponse>\n<!-- after -->\n", "a <&> \"' AB<raw>"},
		{`<!DOCTYPE R [<!ENTITY e "x">]><AssumeRoleResponse><AssumeRoleResult>` + strings.Replace(creds, "%s", "&e;", 1) +
			`</AssumeRoleResult></AssumeRoleResponse>`, ""},
		{`<AssumeRoleResponse><AssumeRoleResult>` + strings.Replace(creds, "%s", "t", 1) + `</AssumeRoleResult></AssumeRoleResponse><X/>`, ""},
		{`<AssumeRoleResponse><AssumeRoleResult>` + strings.Replace(creds, "%s", "t", 1) + `</AssumeRoleResult></AssumeRoleResponse>text`, ""},
		{`<Other><AssumeRoleResult>` + strings.Replace(creds, "%s", "t", 1) + `</AssumeRoleResult></Other>`, ""},
		{`<AssumeRoleResponse><AssumeRoleResult>` + strings.Replace(creds, "%s", "t", 1) + `</AssumeRoleResult>`, ""},
		{``, ""},
	} {
		got, err := assumedCredentials(exchange{resp: &http.Response{StatusCode: 200, Header: http.Header{}}, answer: []byte(tc.doc)})
		switch {
		case tc.token == "" && Classify(item.ServiceSTS, err).Code != item.CodeInvalidResponse:
			t.Errorf("%.60q: %+v %v, want an undecodable answer", tc.doc, got, err)
		case tc.token != "" && (err != nil || got.SessionToken != tc.token):
			t.Errorf("%.60q: token %q, %v; want %q", tc.doc, got.SessionToken, err, tc.token)
		}
	}
}

// FuzzAssumedCredentials: no answer makes decoding panic, none that is
// not an error STS named puts any of its body in the error, and any token
// escaped as AWS escapes it reads back unchanged.
func FuzzAssumedCredentials(f *testing.F) {
	f.Add(200, []byte(`<AssumeRoleResponse><AssumeRoleResult><Credentials><AccessKeyId>A</AccessKeyId></Credentials></AssumeRoleResult></AssumeRoleResponse>`), "ASIA/+=&<>\"'")
	f.Add(403, []byte(`<ErrorResponse><Error><Code>AccessDenied</Code></Error></ErrorResponse>`), "")
	f.Add(200, []byte(`<?xml version="1.0"?><R a="&gt;"><![CDATA[x]]><B/></R>`), "")
	f.Fuzz(func(t *testing.T, status int, doc []byte, token string) {
		_, err := assumedCredentials(exchange{resp: &http.Response{StatusCode: status, Header: http.Header{}}, answer: doc})
		var apiErr smithy.APIError
		if err != nil && !errors.As(err, &apiErr) && len(doc) > 3 && strings.Contains(err.Error(), string(doc)) {
			t.Fatalf("the error %q quotes the answer", err)
		}
		if !utf8.ValidString(token) || strings.ContainsFunc(token, func(r rune) bool { return r < 0x20 || r == 0xFFFE || r == 0xFFFF }) {
			return // not text XML can carry
		}
		escaped := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(token)
		ok := `<?xml version="1.0"?><AssumeRoleResponse xmlns="x"><AssumeRoleResult><Credentials><AccessKeyId>A</AccessKeyId>` +
			`<SecretAccessKey>S</SecretAccessKey><SessionToken>` + escaped + `</SessionToken><Expiration>2026-12-04T03:15:00Z</Expiration>` +
			`</Credentials></AssumeRoleResult></AssumeRoleResponse>`
		got, err := assumedCredentials(exchange{resp: &http.Response{StatusCode: 200, Header: http.Header{}}, answer: []byte(ok)})
		if err != nil || got.SessionToken != token {
			t.Fatalf("escaped token %q read back as %q, %v", token, got.SessionToken, err)
		}
	})
}
