package server

// The AWS Parameters and Secrets Lambda Extension's answer bodies, written
// byte for byte as that layer writes them, through jsonOut.

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strconv"

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
// UTC with three fractional digits, SecretBinary in standard base64,
// strings HTML-escaped, ResultMetadata always {}. The caller clears the
// body once written.
func marshalSecretValue(sec *upstream.Value) []byte {
	return encodeJSON(func(o *jsonOut) {
		o.raw(`{"ARN":`)
		o.strOrNull(sec.ARN)
		o.raw(`,"CreatedDate":`)
		o.awsDate(sec.CreatedDate)
		o.raw(`,"Name":`)
		o.strOrNull(sec.Name)
		o.raw(`,"SecretBinary":`)
		if sec.Binary != nil {
			o.base64(sec.Binary)
		} else {
			o.raw("null")
		}
		o.raw(`,"SecretString":`)
		if sec.Text != nil {
			o.secret(sec.Text)
		} else {
			o.raw("null")
		}
		o.raw(`,"VersionId":`)
		o.strOrNull(sec.VersionID)
		o.raw(`,"VersionStages":`)
		if sec.VersionStages != nil {
			o.raw("[")
			o.list(len(sec.VersionStages), nil, func(i int) { o.str(sec.VersionStages[i]) })
			o.raw("]")
		} else {
			o.raw("null")
		}
		o.raw(`,"ResultMetadata":{}}`)
	})
}

// marshalParameter renders a parameter the way the AWS Parameters and
// Secrets Lambda Extension does: encoding/json's rendering of the SDK's
// GetParameterOutput, members in that struct's order, absent values as
// null, LastModifiedDate in UTC with three fractional digits, and
// ResultMetadata always {}.
func marshalParameter(p *upstream.Value) []byte {
	meta := p.Parameter
	if meta == nil {
		meta = &upstream.ParameterMeta{}
	}
	return encodeJSON(func(o *jsonOut) {
		o.raw(`{"Parameter":{"ARN":`)
		o.strOrNull(p.ARN)
		o.raw(`,"DataType":`)
		o.strOrNull(meta.DataType)
		o.raw(`,"LastModifiedDate":`)
		o.awsDate(p.CreatedDate)
		o.raw(`,"Name":`)
		o.strOrNull(p.Name)
		o.raw(`,"Selector":`)
		o.strOrNull(meta.Selector)
		o.raw(`,"SourceResult":`)
		o.strOrNull(meta.SourceResult)
		o.raw(`,"Type":`)
		o.strOrNull(meta.Type)
		o.raw(`,"Value":`)
		if p.Text != nil {
			o.secret(p.Text)
		} else {
			o.raw("null")
		}
		o.raw(`,"Version":`)
		o.rawBytes(strconv.AppendInt(nil, meta.Version, 10))
		o.raw(`},"ResultMetadata":{}}`)
	})
}
