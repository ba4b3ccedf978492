package upstream

import (
	"bytes"
	"cmp"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/starfleet/starfleet-secrets/item"
)

// roleDuration is how long assumed credentials last: STS's minimum, as
// the SDK's provider asks, so that a role dropped from the allow-list
// stops working soon.
const roleDuration = 15 * time.Minute

// stsTimeout bounds one AssumeRole. Reads share a retrieval beyond their
// own deadlines (see renewing), so without a bound of its own a call STS
// never answers would hold every later read of the role.
const stsTimeout = 10 * time.Second

// maxSTSAnswer bounds an AssumeRole answer read into memory; real ones are
// under 4 KB.
const maxSTSAnswer = 64 << 10

// assumeRole is the credentials provider of one role: STS's AssumeRole,
// signed with the function's own credentials. It makes the one call itself
// rather than through the SDK's STS client, whose package (endpoint
// tables, query protocol) is half a megabyte of the binary and most of a
// millisecond of package initialisation at every cold start, for one call
// per role every quarter of an hour. The answer, which holds credentials,
// is read by encoding/xml.
type assumeRole struct {
	role, session string
	region        string                 // the function's: STS's regional endpoint
	endpoint      func() (string, error) // STS's, in region
	base          aws.CredentialsProvider
	client        aws.HTTPClient
	now           func() time.Time
	skew          *clockSkew    // shared with the reads
	timeout       time.Duration // stsTimeout if zero
	userAgent     string        // defaultUserAgent if empty
}

// Retrieve implements aws.CredentialsProvider. A refusal the clocks
// explain is tried once more, signed by the skew its answer showed, as the
// SDK's STS client would.
func (a *assumeRole) Retrieve(ctx context.Context) (aws.Credentials, error) {
	ctx, cancel := context.WithTimeout(ctx, cmp.Or(a.timeout, stsTimeout))
	defer cancel()
	creds, err := a.retrieveOnce(ctx)
	var skewed *clockSkewError
	if errors.As(err, &skewed) {
		creds, err = a.retrieveOnce(ctx)
	}
	return creds, err
}

func (a *assumeRole) retrieveOnce(ctx context.Context) (aws.Credentials, error) {
	endpoint, err := a.endpoint()
	if err != nil {
		return aws.Credentials{}, err
	}
	creds, err := a.base.Retrieve(ctx)
	if err != nil {
		return aws.Credentials{}, fmt.Errorf("%s: the function's credentials: %w", item.ServiceSTS, err)
	}
	body := url.Values{
		"Action":          {"AssumeRole"},
		"Version":         {"2011-06-15"},
		"RoleArn":         {a.role},
		"RoleSessionName": {a.session},
		"DurationSeconds": {fmt.Sprint(int(roleDuration.Seconds()))},
	}.Encode()
	skew := a.skew
	if skew == nil {
		skew = new(clockSkew)
	}
	x, err := signedPost{
		service: item.ServiceSTS, url: endpoint, signingName: "sts", region: a.region,
		header: http.Header{"Content-Type": {"application/x-www-form-urlencoded; charset=utf-8"}, "User-Agent": {cmp.Or(a.userAgent, defaultUserAgent)}},
		body:   []byte(body), limit: maxSTSAnswer, now: a.now, skew: skew,
	}.send(ctx, a.client, creds)
	if err != nil {
		return aws.Credentials{}, &smithyhttp.RequestSendError{Err: err}
	}
	assumed, err := assumedCredentials(x)
	return assumed, x.explain(err)
}

// stsError is STS's error answer, in its query protocol.
type stsError struct {
	Error struct {
		Type, Code, Message string
	}
	RequestID string `xml:"RequestId"`
}

// stsAssumed is STS's answer to AssumeRole.
type stsAssumed struct {
	Result struct {
		Credentials struct {
			AccessKeyID     string `xml:"AccessKeyId"`
			SecretAccessKey string
			SessionToken    string
			Expiration      string
		}
		AssumedRoleUser struct{ Arn string }
	} `xml:"AssumeRoleResult"`
}

// decodeXML reads doc, whose root element must be root, into v. Entities
// beyond XML's own are refused: AWS never declares any.
func decodeXML(doc []byte, root string, v any) error {
	d := xml.NewDecoder(bytes.NewReader(doc))
	d.Strict = true
	for {
		tok, err := d.Token()
		if err != nil {
			return err
		}
		if start, ok := tok.(xml.StartElement); ok {
			if start.Name.Local != root {
				return fmt.Errorf("the root element is not %s", root)
			}
			if err := d.DecodeElement(v, &start); err != nil {
				return err
			}
			break
		}
	}
	// Nothing but white space, comments and processing instructions
	// after the root.
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.CharData:
			if len(bytes.TrimSpace(t)) != 0 {
				return errors.New("text after the root element")
			}
		case xml.Comment, xml.ProcInst:
		default:
			return errors.New("more than one root element")
		}
	}
}

// assumedCredentials reads STS's answer to AssumeRole: the role's
// credentials, or the error STS named, in the shapes the SDK's own client
// returns so that Classify reads them alike. Nothing of a body STS did not
// mean as an error message goes into an error: it may hold credentials.
func assumedCredentials(x exchange) (aws.Credentials, error) {
	resp := x.resp
	requestID := resp.Header.Get("X-Amzn-Requestid")
	responseError := func(err error) error {
		return &awshttp.ResponseError{
			ResponseError: &smithyhttp.ResponseError{Response: &smithyhttp.Response{Response: resp}, Err: err},
			RequestID:     requestID,
		}
	}
	undecodable := func() error {
		return responseError(&smithy.DeserializationError{
			Err: fmt.Errorf("the answer from %s could not be decoded (HTTP %d)", item.ServiceSTS, resp.StatusCode),
		})
	}
	if x.readErr != nil {
		return aws.Credentials{}, responseError(&smithy.DeserializationError{
			Err: fmt.Errorf("the answer from %s could not be read (HTTP %d): %w", item.ServiceSTS, resp.StatusCode, x.readErr),
		})
	}
	if len(x.answer) > maxSTSAnswer {
		return aws.Credentials{}, undecodable()
	}
	if resp.StatusCode != http.StatusOK {
		var e stsError
		if decodeXML(x.answer, "ErrorResponse", &e) != nil || e.Error.Code == "" {
			return aws.Credentials{}, undecodable()
		}
		if requestID == "" {
			requestID = e.RequestID
		}
		fault := smithy.FaultClient
		if e.Error.Type == "Receiver" {
			fault = smithy.FaultServer
		}
		return aws.Credentials{}, responseError(&smithy.GenericAPIError{Code: e.Error.Code, Message: e.Error.Message, Fault: fault})
	}
	var ok stsAssumed
	if decodeXML(x.answer, "AssumeRoleResponse", &ok) != nil {
		return aws.Credentials{}, undecodable()
	}
	c := ok.Result.Credentials
	expires, err := time.Parse(time.RFC3339, c.Expiration)
	if err != nil || c.AccessKeyID == "" || c.SecretAccessKey == "" {
		return aws.Credentials{}, undecodable()
	}
	return aws.Credentials{
		AccessKeyID:     c.AccessKeyID,
		SecretAccessKey: c.SecretAccessKey,
		SessionToken:    c.SessionToken,
		Source:          "AssumeRole",
		CanExpire:       true,
		Expires:         expires,
		AccountID:       accountOf(ok.Result.AssumedRoleUser.Arn),
	}, nil
}

// accountOf is the account of an ARN, empty if it names none.
func accountOf(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 || parts[0] != "arn" {
		return ""
	}
	return parts[4]
}
