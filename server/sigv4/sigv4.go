// Package sigv4 verifies AWS Signature Version 4 the way an AWS service
// checks the requests an SDK signs: a caller of the services' own protocol
// proves it holds the credentials the extension holds by signing with
// them. It is pure and standard library only, so that it can be fuzzed and
// read apart from the HTTP handlers that ask it.
package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"net/textproto"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

const (
	sigV4Algorithm = "AWS4-HMAC-SHA256"
	DateLayout     = "20060102T150405Z"
	// maxClockSkew is how far a signature's time may be from the
	// extension's clock, as AWS allows.
	maxClockSkew = 5 * time.Minute
)

// Key is who may sign: an access key id and its secret, and the
// session token that goes with them ("" for long-term keys).
type Key struct {
	AccessKeyID, SecretAccessKey, SessionToken string
}

// Signature is a parsed Authorization header.
type Signature struct {
	accessKeyID, date, region, service string
	signedHeaders                      []string
	signature                          []byte
}

// Error is why a signature was refused: the code an AWS service
// answers with, and a message that names no secret.
type Error struct{ Code, Message string }

func (e *Error) Error() string { return e.Code + ": " + e.Message }

func invalidSignature(message string) *Error {
	return &Error{Code: "InvalidSignatureException", Message: message}
}

// ErrUnknownKey is the answer to credentials other than the extension's.
var ErrUnknownKey = &Error{Code: "UnrecognizedClientException", Message: "The security token included in the request is invalid."}

// Parse reads an Authorization header, "AWS4-HMAC-SHA256 Credential=AKID/DATE/REGION/SERVICE/aws4_request,
// SignedHeaders=a;b, Signature=hex". It is pure and never panics, so it
// can be fuzzed.
func Parse(header string) (Signature, error) {
	algorithm, rest, ok := strings.Cut(strings.TrimSpace(header), " ")
	if !ok || algorithm != sigV4Algorithm {
		return Signature{}, &Error{Code: "IncompleteSignatureException", Message: "the Authorization header is not AWS Signature Version 4 (" + sigV4Algorithm + ")"}
	}
	var s Signature
	var credential, signed, signature string
	for _, part := range strings.Split(rest, ",") {
		name, value, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch name {
		case "Credential":
			credential = value
		case "SignedHeaders":
			signed = value
		case "Signature":
			signature = value
		}
	}
	scope := strings.Split(credential, "/")
	if len(scope) != 5 || scope[0] == "" || scope[4] != "aws4_request" {
		return Signature{}, &Error{Code: "IncompleteSignatureException", Message: "Authorization's Credential must be ACCESS_KEY_ID/DATE/REGION/SERVICE/aws4_request"}
	}
	s.accessKeyID, s.date, s.region, s.service = scope[0], scope[1], scope[2], scope[3]
	if !validRegion(s.region) {
		return Signature{}, invalidSignature("the credential scope names no valid region")
	}
	s.signedHeaders = strings.Split(signed, ";")
	if signed == "" || !slices.IsSorted(s.signedHeaders) || slices.Contains(s.signedHeaders, "") || len(slices.Compact(slices.Clone(s.signedHeaders))) != len(s.signedHeaders) {
		return Signature{}, &Error{Code: "IncompleteSignatureException", Message: "Authorization's SignedHeaders must list lower-case header names, sorted, each once"}
	}
	var err error
	if s.signature, err = hex.DecodeString(signature); err != nil || len(s.signature) != sha256.Size {
		return Signature{}, &Error{Code: "IncompleteSignatureException", Message: "Authorization's Signature must be 64 hex digits"}
	}
	return s, nil
}

// validRegion accepts what a region name can be: 1 to 32 of [a-z0-9-].
func validRegion(r string) bool {
	if r == "" || len(r) > 32 {
		return false
	}
	for i := 0; i < len(r); i++ {
		if c := r[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// headersThatMustBeSigned are the headers a signature must cover: without
// them a captured request could be replayed to another operation or host.
var headersThatMustBeSigned = []string{"host", "x-amz-date", "x-amz-target"}

// Verify checks that r, whose body is body, carries signature s, made for
// service by key at most maxClockSkew from now, exactly as AWS checks it: the
// canonical request, the signed headers, the payload's hash, the
// credential scope and the session token. It returns the region the
// caller signed for. It is pure and never panics, so it can be fuzzed.
func (s Signature) Verify(r *http.Request, body []byte, key Key, service string, now time.Time) (string, error) {
	if subtle.ConstantTimeCompare([]byte(s.accessKeyID), []byte(key.AccessKeyID)) != 1 {
		return "", ErrUnknownKey
	}
	if token := r.Header.Get("X-Amz-Security-Token"); subtle.ConstantTimeCompare([]byte(token), []byte(key.SessionToken)) != 1 {
		return "", ErrUnknownKey
	}
	if s.service != service {
		return "", invalidSignature("Credential should be scoped to correct service: '" + service + "'.")
	}
	amzDate := r.Header.Get("X-Amz-Date")
	signedAt, err := time.Parse(DateLayout, amzDate)
	switch {
	case err != nil:
		return "", &Error{Code: "IncompleteSignatureException", Message: "the X-Amz-Date header must be a time such as 20260101T120000Z"}
	case signedAt.Sub(now).Abs() > maxClockSkew:
		return "", invalidSignature("Signature expired or not yet valid: " + amzDate + " is more than 5 minutes from the extension's clock " + now.UTC().Format(DateLayout) + ".")
	case s.date != amzDate[:8]:
		return "", invalidSignature("Credential should be scoped to a valid date: the scope's date must be X-Amz-Date's.")
	}
	for _, name := range headersThatMustBeSigned {
		if !slices.Contains(s.signedHeaders, name) {
			return "", invalidSignature("the signature must cover the " + name + " header")
		}
	}
	payload := sha256.Sum256(body)
	payloadHash := hex.EncodeToString(payload[:])
	if h, ok := r.Header["X-Amz-Content-Sha256"]; ok && (len(h) != 1 || h[0] != payloadHash) {
		return "", invalidSignature("The provided 'x-amz-content-sha256' header does not match what was computed.")
	}
	canonical, err := canonicalRequest(r, s.signedHeaders, payloadHash)
	if err != nil {
		return "", err
	}
	digest := sha256.Sum256([]byte(canonical))
	scope := s.date + "/" + s.region + "/" + s.service + "/aws4_request"
	stringToSign := sigV4Algorithm + "\n" + amzDate + "\n" + scope + "\n" + hex.EncodeToString(digest[:])
	if !hmac.Equal(signature(key.SecretAccessKey, s.date, s.region, s.service, stringToSign), s.signature) {
		return "", invalidSignature("The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.")
	}
	return s.region, nil
}

// signature is the HMAC of stringToSign under the key SigV4 derives from
// secret and the credential scope.
func signature(secret, date, region, service, stringToSign string) []byte {
	k := hmacSHA256([]byte("AWS4"+secret), date)
	k = hmacSHA256(k, region)
	k = hmacSHA256(k, service)
	k = hmacSHA256(k, "aws4_request")
	return hmacSHA256(k, stringToSign)
}

func hmacSHA256(key []byte, data string) []byte {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(data))
	return mac.Sum(nil)
}

// canonicalRequest is SigV4's canonical form of r: method, path, query,
// the signed headers and their values, and the payload's hash.
func canonicalRequest(r *http.Request, signedHeaders []string, payloadHash string) (string, error) {
	var b strings.Builder
	b.WriteString(r.Method + "\n")
	path := r.URL.EscapedPath()
	if path == "" {
		path = "/"
	}
	// The SDKs encode the path once more for every service but S3.
	b.WriteString(uriEncode(path, false) + "\n")
	query, err := canonicalQuery(r.URL.RawQuery)
	if err != nil {
		return "", err
	}
	b.WriteString(query + "\n")
	for _, name := range signedHeaders {
		var values []string
		switch name {
		case "host":
			values = []string{r.Host}
		case "content-length":
			values = r.Header.Values("Content-Length")
			if len(values) == 0 && r.ContentLength >= 0 {
				values = []string{strconv.FormatInt(r.ContentLength, 10)}
			}
		default:
			values = r.Header[textproto.CanonicalMIMEHeaderKey(name)]
		}
		if len(values) == 0 {
			return "", invalidSignature("the signed header " + name + " is missing from the request")
		}
		b.WriteString(name + ":")
		for i, v := range values {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strings.Join(strings.Fields(v), " "))
		}
		b.WriteByte('\n')
	}
	b.WriteString("\n" + strings.Join(signedHeaders, ";") + "\n" + payloadHash)
	return b.String(), nil
}

// canonicalQuery is the query's pairs, each name and value encoded as SigV4
// encodes them, sorted.
func canonicalQuery(raw string) (string, error) {
	if raw == "" {
		return "", nil
	}
	values, err := url.ParseQuery(raw)
	if err != nil {
		return "", invalidSignature("the query string is malformed")
	}
	var pairs []string
	for name, vs := range values {
		for _, v := range vs {
			pairs = append(pairs, uriEncode(name, true)+"="+uriEncode(v, true))
		}
	}
	slices.Sort(pairs)
	return strings.Join(pairs, "&"), nil
}

// uriEncode percent-encodes every byte but the unreserved characters
// (and '/', unless encodeSlash), as SigV4 specifies.
func uriEncode(s string, encodeSlash bool) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '_', c == '.', c == '~':
			b.WriteByte(c)
		case c == '/' && !encodeSlash:
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte("0123456789ABCDEF"[c>>4])
			b.WriteByte("0123456789ABCDEF"[c&15])
		}
	}
	return b.String()
}
