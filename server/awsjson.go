package server

// The AWS Parameters and Secrets Lambda Extension's answer bodies, written
// byte for byte as that layer writes them, and sized before they are built
// so that no partial copy of a value is left behind.

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/starfleet/starfleet-secrets/upstream"
)

// bodyETag changes whenever the answer does: it is a keyed MAC of the
// whole body (value, version, stages and dates).
func (h *handler) bodyETag(body []byte) string {
	mac := hmac.New(sha256.New, h.etagKey)
	mac.Write(body)
	return `"` + base64.RawURLEncoding.EncodeToString(mac.Sum(nil)[:15]) + `"`
}

// marshalSecretValue renders sec the way the AWS Parameters and Secrets
// Lambda Extension does: the JSON that Go's encoding/json makes of the AWS
// SDK for Go v2's GetSecretValueOutput. Its members in that struct's order
// (ARN, CreatedDate, Name, SecretBinary, SecretString, VersionId,
// VersionStages, ResultMetadata), absent values as null, CreatedDate in
// UTC with three fractional digits, SecretBinary in
// standard base64, strings HTML-escaped, ResultMetadata always {}.
//
// The body is sized exactly before it is built, so that no partial copy of
// the value is left behind in a discarded buffer; the caller clears it once
// written.
func marshalSecretValue(sec *upstream.Value) []byte {
	arn := optionalJSONString(sec.ARN)
	created := awsDate(sec.CreatedDate)
	name := optionalJSONString(sec.Name)
	versionID := optionalJSONString(sec.VersionID)
	stages := []byte("null")
	if sec.VersionStages != nil {
		stages, _ = json.Marshal(sec.VersionStages) // []string cannot fail
	}

	const (
		keyARN      = `{"ARN":`
		keyCreated  = `,"CreatedDate":`
		keyName     = `,"Name":`
		keyBinary   = `,"SecretBinary":`
		keyString   = `,"SecretString":`
		keyVersion  = `,"VersionId":`
		keyStages   = `,"VersionStages":`
		keyMetadata = `,"ResultMetadata":{}}`
	)
	size := len(keyARN) + len(arn) + len(keyCreated) + len(created) + len(keyName) + len(name) +
		len(keyBinary) + len(keyString) + len(keyVersion) + len(versionID) +
		len(keyStages) + len(stages) + len(keyMetadata)
	if sec.Binary != nil {
		size += 2 + base64.StdEncoding.EncodedLen(len(sec.Binary))
	} else {
		size += len("null")
	}
	if sec.Text != nil {
		size += jsonStringLen(sec.Text)
	} else {
		size += len("null")
	}

	b := make([]byte, 0, size)
	b = append(append(b, keyARN...), arn...)
	b = append(append(b, keyCreated...), created...)
	b = append(append(b, keyName...), name...)
	b = append(b, keyBinary...)
	if sec.Binary != nil {
		b = append(b, '"')
		b = base64.StdEncoding.AppendEncode(b, sec.Binary)
		b = append(b, '"')
	} else {
		b = append(b, "null"...)
	}
	b = append(b, keyString...)
	if sec.Text != nil {
		b = appendJSONString(b, sec.Text)
	} else {
		b = append(b, "null"...)
	}
	b = append(append(b, keyVersion...), versionID...)
	b = append(append(b, keyStages...), stages...)
	return append(b, keyMetadata...)
}

// awsDate renders a date as the AWS layer does: a JSON string in UTC with
// exactly three fractional digits, or null for the SDK's nil *time.Time.
func awsDate(t time.Time) []byte {
	if t.IsZero() {
		return []byte("null")
	}
	return t.UTC().AppendFormat([]byte{'"'}, `2006-01-02T15:04:05.000Z"`)
}

// optionalJSONString is s as a JSON string, or null when s is empty (the
// SDK's nil *string).
func optionalJSONString(s string) []byte {
	if s == "" {
		return []byte("null")
	}
	b, _ := json.Marshal(s) // a string cannot fail
	return b
}

const hexDigits = "0123456789abcdef"

// jsonEscape says how an ASCII byte is written inside a JSON string, as
// encoding/json writes it with HTML escaping on: 0 for as is, a letter for
// a two-character escape (\n), 'u' for \u00XX.
var jsonEscape = func() (t [utf8.RuneSelf]byte) {
	for c := range t {
		if c < 0x20 {
			t[c] = 'u'
		}
	}
	t['"'], t['\\'] = '"', '\\'
	t['\b'], t['\f'], t['\n'], t['\r'], t['\t'] = 'b', 'f', 'n', 'r', 't'
	t['<'], t['>'], t['&'] = 'u', 'u', 'u'
	return t
}()

// appendJSONString appends src as a JSON string, byte for byte as
// json.Marshal(string(src)) would, without first copying src into a string
// that could not be wiped: invalid UTF-8 becomes \ufffd, <, > and & and
// U+2028 and U+2029 are escaped.
func appendJSONString(dst, src []byte) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(src); {
		c := src[i]
		if c < utf8.RuneSelf {
			esc := jsonEscape[c]
			if esc == 0 {
				i++
				continue
			}
			dst = append(dst, src[start:i]...)
			if esc == 'u' {
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			} else {
				dst = append(dst, '\\', esc)
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRune(src[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, src[start:i]...)
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, src[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	dst = append(dst, src[start:]...)
	return append(dst, '"')
}

// jsonStringLen is len(appendJSONString(nil, src)).
func jsonStringLen(src []byte) int {
	n := 2
	for i := 0; i < len(src); {
		c := src[i]
		if c < utf8.RuneSelf {
			switch jsonEscape[c] {
			case 0:
				n++
			case 'u':
				n += 6
			default:
				n += 2
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(src[i:])
		switch {
		case r == utf8.RuneError && size == 1, r == '\u2028' || r == '\u2029':
			n += 6
		default:
			n += size
		}
		i += size
	}
	return n
}

// marshalParameter renders a parameter the way the AWS Parameters and
// Secrets Lambda Extension does: encoding/json's rendering of the SDK's
// GetParameterOutput, members in that struct's order, absent values as
// null, LastModifiedDate in UTC with three fractional digits, and
// ResultMetadata always {}. Like marshalSecretValue it sizes the body
// first, so that no partial copy of the value is left behind.
func marshalParameter(p *upstream.Value) []byte {
	meta := p.Parameter
	if meta == nil {
		meta = &upstream.ParameterMeta{}
	}
	fields := [...]struct {
		key   string
		value []byte
	}{
		{`{"Parameter":{"ARN":`, optionalJSONString(p.ARN)},
		{`,"DataType":`, optionalJSONString(meta.DataType)},
		{`,"LastModifiedDate":`, awsDate(p.CreatedDate)},
		{`,"Name":`, optionalJSONString(p.Name)},
		{`,"Selector":`, optionalJSONString(meta.Selector)},
		{`,"SourceResult":`, optionalJSONString(meta.SourceResult)},
		{`,"Type":`, optionalJSONString(meta.Type)},
		{`,"Value":`, nil}, // written from p.Text below
		{`,"Version":`, strconv.AppendInt(nil, meta.Version, 10)},
	}
	const end = `},"ResultMetadata":{}}`
	size := len(end)
	for _, f := range fields {
		size += len(f.key) + len(f.value)
	}
	if p.Text != nil {
		size += jsonStringLen(p.Text)
	} else {
		size += len("null")
	}
	b := make([]byte, 0, size)
	for _, f := range fields {
		b = append(b, f.key...)
		switch {
		case f.value != nil:
			b = append(b, f.value...)
		case p.Text != nil:
			b = appendJSONString(b, p.Text)
		default:
			b = append(b, "null"...)
		}
	}
	return append(b, end...)
}
