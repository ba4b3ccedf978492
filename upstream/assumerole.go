package upstream

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// ServiceSTS names STS in messages.
const ServiceSTS = "STS"

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
// tables, query protocol, XML decoding) is half a megabyte of the binary
// and most of a millisecond of package initialisation at every cold start,
// for one call per role every quarter of an hour.
type assumeRole struct {
	role, session string
	region        string // the function's: STS's regional endpoint
	endpoint      *string
	variant       endpointVariant
	base          aws.CredentialsProvider
	client        aws.HTTPClient
	now           func() time.Time
	timeout       time.Duration // stsTimeout if zero
}

// Retrieve implements aws.CredentialsProvider.
func (a *assumeRole) Retrieve(ctx context.Context) (aws.Credentials, error) {
	ctx, cancel := context.WithTimeout(ctx, cmp.Or(a.timeout, stsTimeout))
	defer cancel()
	// STS's regional endpoint (https://sts.{region}.{partition's suffix}
	// and its FIPS and dual-stack variants), or the override.
	endpoint, err := endpointURL(stsAPI, a.region, a.endpoint, a.variant)
	if err != nil {
		return aws.Credentials{}, err
	}
	creds, err := a.base.Retrieve(ctx)
	if err != nil {
		return aws.Credentials{}, fmt.Errorf("%s: the function's credentials: %w", ServiceSTS, err)
	}
	body := url.Values{
		"Action":          {"AssumeRole"},
		"Version":         {"2011-06-15"},
		"RoleArn":         {a.role},
		"RoleSessionName": {a.session},
		"DurationSeconds": {fmt.Sprint(int(roleDuration.Seconds()))},
	}.Encode()
	resp, answer, err := signedPost{
		service: ServiceSTS, url: endpoint, signingName: "sts", region: a.region,
		header: http.Header{"Content-Type": {"application/x-www-form-urlencoded; charset=utf-8"}},
		body:   []byte(body), limit: maxSTSAnswer, now: a.now(),
	}.send(ctx, a.client, creds)
	if err != nil {
		return aws.Credentials{}, &smithyhttp.RequestSendError{Err: err}
	}
	return assumedCredentials(resp, answer)
}

// assumedCredentials reads STS's answer to AssumeRole: the role's
// credentials, or the error STS named, in the shapes the SDK's own client
// returns so that Classify reads them alike. Nothing of a body STS did not
// mean as an error message goes into an error: it may hold credentials.
func assumedCredentials(resp *http.Response, answer []byte) (aws.Credentials, error) {
	requestID := resp.Header.Get("X-Amzn-Requestid")
	responseError := func(err error) error {
		return &awshttp.ResponseError{
			ResponseError: &smithyhttp.ResponseError{Response: &smithyhttp.Response{Response: resp}, Err: err},
			RequestID:     requestID,
		}
	}
	undecodable := func() error {
		return responseError(&smithy.DeserializationError{
			Err: fmt.Errorf("the answer from %s could not be decoded (HTTP %d)", ServiceSTS, resp.StatusCode),
		})
	}
	if len(answer) > maxSTSAnswer {
		return aws.Credentials{}, undecodable()
	}
	if resp.StatusCode != http.StatusOK {
		f, err := xmlFields(answer, "ErrorResponse/Error/Code", "ErrorResponse/Error/Message",
			"ErrorResponse/Error/Type", "ErrorResponse/RequestId")
		if err != nil || f["ErrorResponse/Error/Code"] == "" {
			return aws.Credentials{}, undecodable()
		}
		if requestID == "" {
			requestID = f["ErrorResponse/RequestId"]
		}
		fault := smithy.FaultClient
		if f["ErrorResponse/Error/Type"] == "Receiver" {
			fault = smithy.FaultServer
		}
		return aws.Credentials{}, responseError(&smithy.GenericAPIError{
			Code: f["ErrorResponse/Error/Code"], Message: f["ErrorResponse/Error/Message"], Fault: fault,
		})
	}
	const result = "AssumeRoleResponse/AssumeRoleResult/"
	f, err := xmlFields(answer, result+"Credentials/AccessKeyId", result+"Credentials/SecretAccessKey",
		result+"Credentials/SessionToken", result+"Credentials/Expiration", result+"AssumedRoleUser/Arn")
	if err != nil {
		return aws.Credentials{}, undecodable()
	}
	expires, err := time.Parse(time.RFC3339, f[result+"Credentials/Expiration"])
	if err != nil || f[result+"Credentials/AccessKeyId"] == "" || f[result+"Credentials/SecretAccessKey"] == "" {
		return aws.Credentials{}, undecodable()
	}
	return aws.Credentials{
		AccessKeyID:     f[result+"Credentials/AccessKeyId"],
		SecretAccessKey: f[result+"Credentials/SecretAccessKey"],
		SessionToken:    f[result+"Credentials/SessionToken"],
		Source:          "AssumeRole",
		CanExpire:       true,
		Expires:         expires,
		AccountID:       accountOf(f[result+"AssumedRoleUser/Arn"]),
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

// errXML is a document xmlFields cannot read.
var errXML = errors.New("not an XML document of elements and text")

// maxXMLDepth bounds the nesting xmlFields follows; AWS's answers nest
// four deep.
const maxXMLDepth = 16

// xmlFields reads the text of the elements at paths (element names from
// the root, joined by "/") from doc, as AWS's query protocol writes it:
// one root element, attributes, text with the predefined and numeric
// entities, a declaration, comments and CDATA; no DTD. Elements absent
// from doc are absent from the map. It exists so that one AssumeRole
// answer does not link a general XML decoder.
func xmlFields(doc []byte, paths ...string) (map[string]string, error) {
	want := make(map[string]bool, len(paths))
	for _, p := range paths {
		want[p] = true
	}
	found := make(map[string]string, len(paths))
	var stack []string
	var text strings.Builder
	rooted := false
	for s := string(doc); s != ""; {
		if s[0] != '<' {
			lt := strings.IndexByte(s, '<')
			if lt < 0 {
				lt = len(s)
			}
			chars := s[:lt]
			s = s[lt:]
			if len(stack) == 0 {
				if strings.TrimSpace(chars) != "" {
					return nil, errXML // text outside the root element
				}
				continue
			}
			unescaped, err := xmlUnescape(chars)
			if err != nil {
				return nil, err
			}
			text.WriteString(unescaped)
			continue
		}
		var ok bool
		switch {
		case strings.HasPrefix(s, "<?"):
			_, s, ok = strings.Cut(s, "?>")
		case strings.HasPrefix(s, "<!--"):
			_, s, ok = strings.Cut(s, "-->")
		case strings.HasPrefix(s, "<![CDATA["):
			var chars string
			chars, s, ok = strings.Cut(s[len("<![CDATA["):], "]]>")
			ok = ok && len(stack) > 0
			text.WriteString(chars)
		case strings.HasPrefix(s, "<!"):
			// A DTD, which AWS never sends: entities it declared would
			// go unread.
		default:
			end := tagEnd(s)
			if end < 0 {
				return nil, errXML
			}
			tag := s[1:end]
			s = s[end+1:]
			if name, closing := strings.CutPrefix(tag, "/"); closing {
				if len(stack) == 0 || stack[len(stack)-1] != strings.TrimRight(name, " \t\r\n") {
					return nil, errXML
				}
				if p := strings.Join(stack, "/"); want[p] {
					found[p] = text.String()
				}
				stack = stack[:len(stack)-1]
				text.Reset()
				continue
			}
			tag, selfClosing := strings.CutSuffix(tag, "/")
			name := xmlName(tag)
			if name == "" || len(stack) == maxXMLDepth || len(stack) == 0 && rooted {
				return nil, errXML
			}
			rooted = true
			stack = append(stack, name)
			text.Reset()
			if selfClosing {
				if p := strings.Join(stack, "/"); want[p] {
					found[p] = ""
				}
				stack = stack[:len(stack)-1]
			}
			ok = true
		}
		if !ok {
			return nil, errXML
		}
	}
	if len(stack) != 0 || !rooted {
		return nil, errXML
	}
	return found, nil
}

// tagEnd is the index of the '>' that ends the tag s starts with, skipping
// quoted attribute values, or -1.
func tagEnd(s string) int {
	var quote byte
	for i := 1; i < len(s); i++ {
		switch c := s[i]; {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '<':
			return -1
		case c == '>':
			return i
		}
	}
	return -1
}

// xmlName is the element name a start tag's text begins with, or "" if it
// begins with none.
func xmlName(tag string) string {
	if i := strings.IndexAny(tag, " \t\r\n"); i >= 0 {
		tag = tag[:i]
	}
	for _, r := range tag {
		if !(unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("_-.:", r)) {
			return ""
		}
	}
	return tag
}

// xmlUnescape replaces XML's predefined and numeric character references
// in text.
func xmlUnescape(text string) (string, error) {
	if !strings.Contains(text, "&") {
		return text, nil
	}
	var b strings.Builder
	for {
		amp := strings.IndexByte(text, '&')
		if amp < 0 {
			b.WriteString(text)
			return b.String(), nil
		}
		b.WriteString(text[:amp])
		ref, rest, ok := strings.Cut(text[amp+1:], ";")
		if !ok {
			return "", errXML
		}
		switch ref {
		case "lt":
			b.WriteByte('<')
		case "gt":
			b.WriteByte('>')
		case "amp":
			b.WriteByte('&')
		case "quot":
			b.WriteByte('"')
		case "apos":
			b.WriteByte('\'')
		default:
			r, ok := charRef(ref)
			if !ok {
				return "", errXML
			}
			b.WriteRune(r)
		}
		text = rest
	}
}

// charRef is the character a numeric reference (without & and ;) names.
func charRef(ref string) (rune, bool) {
	digits, ok := strings.CutPrefix(ref, "#")
	if !ok || len(digits) > 9 {
		return 0, false
	}
	base := 10
	if hex, ok := strings.CutPrefix(digits, "x"); ok {
		digits, base = hex, 16
	}
	n, err := strconv.ParseUint(digits, base, 32)
	if err != nil || n == 0 || !utf8.ValidRune(rune(n)) {
		return 0, false
	}
	return rune(n), true
}
