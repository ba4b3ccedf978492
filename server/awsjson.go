package server

// The AWS Parameters and Secrets Lambda Extension's answer bodies, written
// byte for byte as that layer writes them, through jsonOut.

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strconv"

	"github.com/starfleet/starfleet-secrets/item"
	"github.com/starfleet/starfleet-secrets/server/jsonbody"
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
func marshalSecretValue(sec *item.Value) []byte {
	return jsonbody.Build(func(o *jsonbody.Builder) {
		o.Raw(`{"ARN":`)
		o.StrOrNull(sec.ARN)
		o.Raw(`,"CreatedDate":`)
		o.AWSDate(sec.CreatedDate)
		o.Raw(`,"Name":`)
		o.StrOrNull(sec.Name)
		o.Raw(`,"SecretBinary":`)
		if sec.Binary != nil {
			o.Base64(sec.Binary)
		} else {
			o.Raw("null")
		}
		o.Raw(`,"SecretString":`)
		if sec.Text != nil {
			o.Secret(sec.Text)
		} else {
			o.Raw("null")
		}
		o.Raw(`,"VersionId":`)
		o.StrOrNull(sec.VersionID)
		o.Raw(`,"VersionStages":`)
		if sec.VersionStages != nil {
			o.Raw("[")
			o.List(len(sec.VersionStages), nil, func(i int) { o.Str(sec.VersionStages[i]) })
			o.Raw("]")
		} else {
			o.Raw("null")
		}
		o.Raw(`,"ResultMetadata":{}}`)
	})
}

// marshalParameter renders a parameter the way the AWS Parameters and
// Secrets Lambda Extension does: encoding/json's rendering of the SDK's
// GetParameterOutput, members in that struct's order, absent values as
// null, LastModifiedDate in UTC with three fractional digits, and
// ResultMetadata always {}.
func marshalParameter(p *item.Value) []byte {
	meta := p.Parameter
	if meta == nil {
		meta = &item.ParameterMeta{}
	}
	return jsonbody.Build(func(o *jsonbody.Builder) {
		o.Raw(`{"Parameter":{"ARN":`)
		o.StrOrNull(p.ARN)
		o.Raw(`,"DataType":`)
		o.StrOrNull(meta.DataType)
		o.Raw(`,"LastModifiedDate":`)
		o.AWSDate(p.CreatedDate)
		o.Raw(`,"Name":`)
		o.StrOrNull(p.Name)
		o.Raw(`,"Selector":`)
		o.StrOrNull(meta.Selector)
		o.Raw(`,"SourceResult":`)
		o.StrOrNull(meta.SourceResult)
		o.Raw(`,"Type":`)
		o.StrOrNull(meta.Type)
		o.Raw(`,"Value":`)
		if p.Text != nil {
			o.Secret(p.Text)
		} else {
			o.Raw("null")
		}
		o.Raw(`,"Version":`)
		o.RawBytes(strconv.AppendInt(nil, meta.Version, 10))
		o.Raw(`},"ResultMetadata":{}}`)
	})
}
