package upstream

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/protocol/restjson"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/starfleet/starfleet-secrets/upstream/awsconfig"
)

// The extension makes its few Secrets Manager and Parameter Store calls
// itself, in the services' JSON protocol, rather than through the SDK's
// clients: their packages compile a table of regular expressions and
// build their endpoint rules at package initialisation, at every cold
// start, which at a small function's CPU share can push registration into
// the next 100 ms scheduling period; the five operations' shapes fit in a
// screen.

// maxReadAnswer bounds an answer to a read held in memory: a secret is at
// most 64 KB, and a page of parameters ten of 8 KB.
const maxReadAnswer = 4 << 20

// jsonContentType is the content type of the services' JSON protocol.
const jsonContentType = "application/x-amz-json-1.1"

// defaultUserAgent names the extension in AWS CloudTrail's records of its
// calls when the program gave no version.
const defaultUserAgent = "starfleet-secrets"

// call sends operation op with input in to s, to the endpoint and under
// the credentials of rt, and decodes the answer into out. Its errors have
// the shapes the SDK's clients return (a smithy.APIError for an error AWS
// named, a decoding failure, a failed send), so that Classify and the
// SDK's retry rules read them alike; a refusal the clocks explain is
// marked as clock skew. Nothing of an answer goes into an error but the
// code and message AWS wrote as its error.
func (c *Clients) call(ctx context.Context, s awsconfig.Service, rt route, op string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("%s %s: %w", s.Name, op, err)
	}
	req, creds, err := c.signed(ctx, s, rt,
		http.Header{"Content-Type": {jsonContentType}, "X-Amz-Target": {s.TargetPrefix + op}, "User-Agent": {c.userAgent}},
		body, maxReadAnswer)
	if err != nil {
		return err
	}
	x, err := req.send(ctx, c.aws.Config.HTTPClient, creds)
	if err != nil {
		return &smithyhttp.RequestSendError{Err: err}
	}
	return x.explain(decodeAnswer(s, x, out))
}

// signed is a request of s along rt, ready to send with the credentials
// it returns: to the endpoint of s in rt's region (or the override), under
// rt's role's credentials, or the function's own.
func (c *Clients) signed(ctx context.Context, s awsconfig.Service, rt route, header http.Header, body []byte, limit int) (signedPost, aws.Credentials, error) {
	url, err := c.endpointOf(s, rt.region)
	if err != nil {
		return signedPost{}, aws.Credentials{}, err
	}
	provider := c.aws.Config.Credentials
	if rt.role != "" {
		c.mu.Lock()
		provider = c.roleCredentials(rt.role)
		c.mu.Unlock()
	}
	creds, err := provider.Retrieve(ctx)
	if err != nil {
		return signedPost{}, aws.Credentials{}, fmt.Errorf("%s: credentials: %w", s.Name, err)
	}
	return signedPost{
		service: s.Name, url: url, signingName: s.Prefix, region: rt.region,
		header: header, body: body, limit: limit, now: c.now, skew: c.skew,
	}, creds, nil
}

// decodeAnswer reads the service's answer into out, or the error it
// names.
func decodeAnswer(s awsconfig.Service, x exchange, out any) error {
	resp := x.resp
	responseError := func(err error) error {
		return &awshttp.ResponseError{
			ResponseError: &smithyhttp.ResponseError{Response: &smithyhttp.Response{Response: resp}, Err: err},
			RequestID:     resp.Header.Get("X-Amzn-Requestid"),
		}
	}
	// The decoder's own message can quote the answer, which may hold a
	// secret: it is dropped.
	undecodable := func() error {
		return responseError(&smithy.DeserializationError{
			Err: fmt.Errorf("the answer from %s could not be decoded (HTTP %d)", s.Name, resp.StatusCode),
		})
	}
	switch {
	case x.readErr != nil:
		// An I/O error, which quotes nothing of the answer; the SDK's
		// retry rules read it (a reset connection is retried).
		return responseError(&smithy.DeserializationError{
			Err: fmt.Errorf("the answer from %s could not be read (HTTP %d): %w", s.Name, resp.StatusCode, x.readErr),
		})
	case len(x.answer) > maxReadAnswer:
		return undecodable()
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		apiErr, ok := jsonError(resp.StatusCode, resp.Header.Get("X-Amzn-Errortype"), x.answer)
		if !ok {
			return undecodable()
		}
		return responseError(apiErr)
	}
	// One JSON value, as the SDK's decoder reads it: what follows it is
	// not read.
	if err := json.NewDecoder(bytes.NewReader(x.answer)).Decode(out); err != nil {
		return undecodable()
	}
	return nil
}

// jsonError is the error a JSON protocol answer of status names, as the
// SDK's clients read it: the code from the X-Amzn-Errortype header, else
// the body's __type, else its code, less any namespace
// ("com.amazonaws.secretsmanager#ResourceNotFoundException") or trailing
// detail (":http://internal.amazon.com/..."), and the body's message. An
// empty body names no more than the header. It reports false for a body
// that is not a JSON object.
func jsonError(status int, header string, body []byte) (*smithy.GenericAPIError, bool) {
	// The SDK's own shape: field names match in any case, and a code
	// that is not a string is no code.
	var fields struct {
		Type    string `json:"__type"`
		Message string
		Code    any
	}
	if err := json.NewDecoder(bytes.NewReader(body)).Decode(&fields); err != nil && err != io.EOF {
		return nil, false
	}
	bodyCode, _ := fields.Code.(string)
	code := restjson.SanitizeErrorCode(firstNonEmpty(header, fields.Type, bodyCode))
	if code == "" {
		code = "UnknownError"
	}
	fault := smithy.FaultClient
	if status >= 500 {
		fault = smithy.FaultServer
	}
	return &smithy.GenericAPIError{Code: code, Message: fields.Message, Fault: fault}, true
}

// epochSeconds is a timestamp as the JSON protocol writes it: seconds
// since the epoch, with a fraction.
type epochSeconds struct{ time.Time }

// UnmarshalJSON implements json.Unmarshaler; null is the zero time.
func (t *epochSeconds) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	seconds, err := strconv.ParseFloat(string(b), 64)
	if err != nil || math.IsNaN(seconds) || math.IsInf(seconds, 0) || math.Abs(seconds) > 1e13 {
		return fmt.Errorf("a timestamp is not a number of seconds")
	}
	t.Time = time.UnixMilli(int64(math.Round(seconds * 1e3))).UTC()
	return nil
}
